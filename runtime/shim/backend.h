#pragma once

// How the shim drives the OCI runtime: in-process through berth::oci::Runtime (the default),
// or by exec'ing a runc-compatible binary (runc, crun, berth-runtime) when the runc options
// name one in BinaryName. Both leave every container process a child of the shim (directly,
// or re-parented to it as the subreaper), so exits arrive through the shim's SIGCHLD reaper.
//
// Calls block until the runtime has done its part (runc create/exec take milliseconds); the
// shim's event loop does not run meanwhile, which is also what keeps fork() safe here.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "containerd/runtime/runc/v1/options.pb.h"
#include "plugins/base/unique_fd.h"
#include "runtime/oci/linux/cgroups.h"

namespace berth::shim {

// File descriptors for a new process: stdio (-1: /dev/null) and, for a terminal, the shim's
// end of the console channel is returned by the call instead.
struct ProcessStdio {
  int in = -1;
  int out = -1;
  int err = -1;
  bool terminal = false;
};

struct Launched {
  pid_t pid = 0;
  UniqueFd console;  // The pty master, when terminal.
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Creates container `id` from `bundle` (config.json; rootfs already mounted), "created".
  // `ready_netns_fd`: a network namespace made ahead for it, or -1 (oci::CreateOptions).
  virtual absl::StatusOr<Launched> Create(const std::string& id, const std::string& bundle,
                                          const ProcessStdio& stdio, int ready_netns_fd) = 0;
  virtual absl::Status Start(const std::string& id) = 0;
  // Runs an extra process (`process_json`: an OCI "process" object) in the container.
  virtual absl::StatusOr<Launched> Exec(const std::string& id, const std::string& exec_id,
                                        const std::string& process_json,
                                        const ProcessStdio& stdio) = 0;
  virtual absl::Status Kill(const std::string& id, int signal, bool all) = 0;
  // Force-removes the container: kills what is left, removes its cgroup and state.
  virtual absl::Status Delete(const std::string& id) = 0;
  virtual absl::Status Pause(const std::string& id) = 0;
  virtual absl::Status Resume(const std::string& id) = 0;
  // `resources_json`: an OCI "linux.resources" object.
  virtual absl::Status Update(const std::string& id, const std::string& resources_json) = 0;

  // The container's cgroup (for stats, pids and OOM events).
  virtual absl::StatusOr<std::unique_ptr<oci::CgroupManager>> Cgroup(const std::string& id) = 0;
};

// The runtime root: options.root, else /run/containerd/<runc|berth>/<ns>.
std::string RuntimeRoot(const containerd::runc::v1::Options& options, const std::string& ns);

// The backend the options ask for, for the container whose bundle is `bundle`.
std::unique_ptr<Backend> NewBackend(const containerd::runc::v1::Options& options,
                                    const std::string& ns, const std::string& bundle);
std::unique_ptr<Backend> NewInProcessBackend(std::string root,
                                             const containerd::runc::v1::Options& options);
std::unique_ptr<Backend> NewBinaryBackend(std::string binary, std::string root,
                                          std::string bundle,
                                          const containerd::runc::v1::Options& options);

}  // namespace berth::shim
