#include <cstdio>

#include "runtime/oci/cli/cli.h"
#include "runtime/oci/container.h"

namespace berth::oci::cli {

void AddCreateFlags(CLI::App& cmd, CreateFlags* f) {
  cmd.add_option("container-id", f->id, "the container's unique name")->required();
  cmd.add_option("-b,--bundle", f->bundle, "path to the root of the bundle directory");
  cmd.add_option("--console-socket", f->console_socket,
                 "path to an AF_UNIX socket which will receive the pty master fd");
  cmd.add_option("--pid-file", f->pid_file, "file to write the process id to");
  cmd.add_flag("--no-pivot", f->no_pivot, "do not use pivot root to jail process inside rootfs");
  cmd.add_flag("--no-new-keyring", f->no_new_keyring, "do not create a new session keyring");
  cmd.add_option("--preserve-fds", f->preserve_fds, "pass N additional file descriptors");
}

CreateOptions ToCreateOptions(const CreateFlags& f) {
  CreateOptions o;
  o.bundle = f.bundle;
  o.console_socket = f.console_socket;
  o.pid_file = f.pid_file;
  o.preserve_fds = f.preserve_fds;
  o.no_pivot = f.no_pivot;
  o.no_new_keyring = f.no_new_keyring;
  return o;
}

void SetupCreate(CLI::App& cmd, const Globals& g, VerbRun* run) {
  auto f = std::make_shared<CreateFlags>();
  AddCreateFlags(cmd, f.get());
  cmd.callback([f, &g, run] {
    *run = [f, &g]() -> absl::StatusOr<int> {
      Runtime runtime(g.root);
      absl::StatusOr<ContainerState> state = runtime.Create(f->id, ToCreateOptions(*f));
      if (!state.ok()) return state.status();
      return 0;
    };
  });
}

}  // namespace berth::oci::cli
