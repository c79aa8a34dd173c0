// berth-shim: Berth's containerd shim v2 (runtime io.containerd.berth.v1). See shim_main.h.

#include <stdio.h>
#include <unistd.h>

#include "runtime/oci/linux/sealed_exe.h"
#include "runtime/shim/flags.h"
#include "runtime/shim/shim_main.h"
#include "runtime/ttrpc/socket.h"

int main(int argc, char** argv) {
  absl::StatusOr<berth::shim::Flags> flags = berth::shim::ParseFlags(argc, argv);
  if (!flags.ok()) {
    fprintf(stderr, "berth-shim: %s\n", std::string(flags.status().message()).c_str());
    return 2;
  }
  if (flags->verb == "start") {
    // The server that start forks makes container processes by fork (runtime/oci), so until
    // their execve their /proc/<pid>/exe is this binary: run from a sealed view of it, or a
    // container could rewrite the shim every later container starts with (CVE-2019-5736).
    if (absl::Status sealed = berth::oci::ReexecSealed(argv); !sealed.ok()) {
      fprintf(stderr, "berth-shim: %s\n", std::string(sealed.message()).c_str());
      return 1;
    }
    return berth::shim::RunStart(*flags);
  }
  if (flags->verb == "delete") return berth::shim::RunDelete(*flags);
  if (!flags->verb.empty()) {
    fprintf(stderr, "berth-shim: unknown command %s\n", flags->verb.c_str());
    return 2;
  }
  // No verb: serve on -socket, or on fd 3 as containerd's re-exec'd shims do.
  berth::UniqueFd listener;
  if (!flags->socket.empty()) {
    absl::StatusOr<berth::UniqueFd> fd = berth::ttrpc::ListenUnix(flags->socket);
    if (!fd.ok()) {
      fprintf(stderr, "berth-shim: %s\n", fd.status().ToString().c_str());
      return 1;
    }
    listener = *std::move(fd);
  } else {
    listener = berth::UniqueFd(3);
  }
  return berth::shim::RunServer(*flags, std::move(listener), "");
}
