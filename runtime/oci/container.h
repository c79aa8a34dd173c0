#pragma once

// berth::oci::Runtime: the OCI runtime as a library. berth-runtime (the runc-compatible CLI)
// is a thin layer over it, and the shim calls it in-process, without any CLI parsing.
//
// Lifecycle (OCI runtime spec, "Lifecycle"):
//
//   Create  -> "created": namespaces, cgroups, mounts, pivot_root and every check done; the
//              init process waits on <root>/<id>/start.sock before exec'ing process.args.
//   Start   -> "running": the init execs the user process; poststart hooks run.
//   (exit)  -> "stopped": derived from the init pid on every load.
//   Delete  -> cgroups removed, poststop hooks run, state directory removed.
//
// Run() is Create + Start + wait in one call and, like `crun run`, needs no start socket: the
// init is released over the setup socketpair, which is what makes it the fast path.
//
// Errors follow the project convention (README): kNotFound for an unknown container,
// kAlreadyExists for a duplicate id, kInvalidArgument for a bad config (the message names the
// field), kFailedPrecondition for a verb the current status does not allow. A failed Create
// leaves nothing behind: no state directory, cgroup, mount or process.
//
// Thread safety: a Runtime holds no mutable state besides its root path; concurrent verbs on
// different containers are safe. Create/Run/Exec fork the calling process: call them from a
// single-threaded process or one whose other threads do not hold malloc or stdio locks.

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/oci/linux/cgroups.h"
#include "runtime/oci/spec.h"
#include "runtime/oci/state_store.h"

namespace berth::oci {

// File descriptors for the container process's stdin/stdout/stderr; -1 means "inherit the
// caller's". Not closed by the runtime.
struct StdioFds {
  int in = -1;
  int out = -1;
  int err = -1;
};

struct CreateOptions {
  std::string bundle;          // Directory holding config.json; "" means the current directory.
  std::string console_socket;  // Unix socket path that receives the pty master (terminal: true).
  int console_fd = -1;         // Or an already connected unix socket (takes precedence).
  std::string pid_file;        // Receives the init's host pid.
  int preserve_fds = 0;        // Extra fds 3..3+n-1 passed to the container.
  bool no_pivot = false;       // MS_MOVE + chroot instead of pivot_root.
  bool no_new_keyring = false;
  bool cgroups_disabled = false;  // Do not create or join any cgroup.
  StdioFds stdio;
  // A network namespace no process is in yet (linux/namespaces.h NewNetworkNamespace): the
  // init joins it instead of creating one, when MayUseReadyNetworkNamespace. -1: none. The
  // caller keeps the fd; once a container has joined it, it is that container's.
  int ready_netns_fd = -1;
  // Called with the parsed, validated spec and the absolute rootfs before anything is made:
  // a caller's own checks (berth-shim's executable check) without reading config.json again.
  std::function<absl::Status(const Spec& spec, const std::string& rootfs)> check_spec;
};

struct ExecOptions {
  Process process;
  std::string console_socket;
  int console_fd = -1;
  std::string pid_file;
  int preserve_fds = 0;
  bool detach = false;  // Return once the process runs; otherwise wait for its exit.
  StdioFds stdio;
};

struct ExecResult {
  pid_t pid = 0;
  int exit_code = 0;  // Valid when not detached: exit status, or 128 + signal.
};

class Runtime {
 public:
  // `root` holds one state directory per container (runc's --root).
  explicit Runtime(std::string root);

  // Builds container `id` from the bundle and leaves it "created".
  absl::StatusOr<ContainerState> Create(const std::string& id, const CreateOptions& options);

  // Releases a created container's init to exec process.args. kFailedPrecondition unless
  // the container is "created".
  absl::Status Start(const std::string& id);
  // Start with the state Create returned, for a caller that created the container itself and
  // nothing else has touched it since (berth-shim): no state file to read back and parse.
  absl::Status Start(ContainerState created);

  // Create + Start. With `detach`, returns 0 once the process runs; otherwise forwards
  // signals, waits, and returns the exit status (128 + signal for a signal), deleting the
  // container afterwards unless `keep`.
  absl::StatusOr<int> Run(const std::string& id, const CreateOptions& options, bool detach,
                          bool keep);

  // The state with a live status (created, running, paused or stopped).
  absl::StatusOr<ContainerState> State(const std::string& id);

  // Sends `signal` to the init, or with `all` to every process in the container's cgroup.
  // kFailedPrecondition if the container is stopped.
  absl::Status Kill(const std::string& id, int signal, bool all);

  // Removes a stopped (or created) container; `force` kills a running one first.
  absl::Status Delete(const std::string& id, bool force);

  // Starts an additional process in a running container: joins its namespaces and cgroup
  // and applies the container's seccomp filter.
  absl::StatusOr<ExecResult> Exec(const std::string& id, const ExecOptions& options);

  absl::Status Pause(const std::string& id);
  absl::Status Resume(const std::string& id);

  // Writes new cgroup limits; absent fields are left unchanged.
  absl::Status Update(const std::string& id, const Resources& resources);

  absl::StatusOr<CgroupStats> Stats(const std::string& id);

  // Host pids of the container's processes.
  absl::StatusOr<std::vector<pid_t>> Pids(const std::string& id);

  // An fd that signals OOM kills in the container (see CgroupManager::OomEventFd).
  absl::StatusOr<int> OomEventFd(const std::string& id);

  std::vector<std::string> List() const { return store_.List(); }

  const StateStore& store() const { return store_; }

  // A container being born; defined in container_internal.h (implementation detail).
  struct Launch;

 private:
  absl::StatusOr<ContainerState> CreateInternal(const std::string& id, const CreateOptions& options,
                                                bool via_socket, Launch* launch);
  absl::Status Destroy(const ContainerState& state);

  StateStore store_;
};

// Parses a "resources" object (the input of `update -r`).
absl::StatusOr<Resources> ParseResourcesJson(absl::string_view json_text);

// Encodes a wait status like a shell: exit code, or 128 + signal.
int ExitCodeFromWaitStatus(int status);

}  // namespace berth::oci
