#pragma once

// The container's init process: what runs in the child between clone() and execve(), as a
// list of named steps (crun's container_init_setup). Internal to runtime/oci.

#include <map>
#include <string>

#include "runtime/oci/container.h"
#include "runtime/oci/linux/security.h"
#include "runtime/oci/spec.h"

namespace berth::oci {

struct InitContext {
  const Spec* spec = nullptr;
  std::string bundle;
  std::string rootfs;     // Absolute, resolved.
  int sync_fd = -1;       // Child end of the setup socketpair.
  int console_fd = -1;    // Connected console socket, or -1.
  int start_listen_fd = -1;  // Listening start.sock (Create), or -1 (Run: start over sync_fd).
  bool new_userns = false;
  int ready_netns_fd = -1;  // Joined instead of creating a network namespace, or -1.
  bool no_pivot = false;
  int preserve_fds = 0;
  StdioFds stdio;
  std::map<std::string, std::string> cgroup_paths;
  const SeccompProgram* seccomp = nullptr;  // Compiled by the parent; null: no filter.
};

// Runs in the cloned child. Never returns: execs the process or exits 1 after reporting the
// error over the sync (or start) socket.
[[noreturn]] void RunInit(const InitContext& ctx);

// Steps shared with exec: rlimits, user, capabilities, no_new_privs, seccomp, cwd, fds and
// the execve. `seccomp` may be null. Every fd but 0-2, the --preserve-fds ones and
// `report_fd` (the socket errors are reported on, close-on-exec) is closed first.
absl::Status FinalizeAndExec(const Process& process, const SeccompProgram* seccomp, int preserve_fds,
                             bool setgroups_allowed, int report_fd);

}  // namespace berth::oci
