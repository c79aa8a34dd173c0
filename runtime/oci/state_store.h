#pragma once

// Container state kept under the runtime's --root directory (default /run/berth-runtime):
//
//   <root>/<id>/state.json    ContainerState as JSON (runc keeps the same kind of file)
//   <root>/<id>/start.sock    the created init's start socket; gone once started
//
// state.json is replaced atomically (temp file + rename) and not fsynced: it is volatile.
// The live status is derived on load: "created" with a start socket that is gone means
// "running" (so a start does not rewrite the file: on a block device each rewrite is a write
// and, once removed, a discard), a recorded pid whose start time no longer matches (or that is
// gone) means "stopped", a frozen cgroup means "paused".

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace berth::oci {

// A created container's start socket in its directory.
inline constexpr char kStartSocket[] = "start.sock";

enum class ContainerStatus { kCreating, kCreated, kRunning, kPaused, kStopped };

const char* StatusName(ContainerStatus status);

struct ContainerState {
  std::string oci_version;
  std::string id;
  ContainerStatus status = ContainerStatus::kCreating;
  pid_t pid = 0;
  uint64_t pid_start_time = 0;  // /proc/<pid>/stat field 22, guards against pid reuse.
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339 with nanoseconds, UTC.
  std::string owner;
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> cgroup_paths;
  int namespaces = 0;        // CLONE_NEW* flags of the init's own (not the host's) namespaces.
  bool start_socket = false;  // created, the init waits on <dir>/start.sock (not in `run`)
  std::string config_json;   // The bundle's config.json as it was at create time.
};

class StateStore {
 public:
  explicit StateStore(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  std::string Dir(const std::string& id) const;

  // Creates <root>/<id>; kAlreadyExists if the container exists, kInvalidArgument for an id
  // that is not a plain name.
  absl::Status CreateDir(const std::string& id);

  absl::Status Save(const ContainerState& state);

  // kNotFound "container `id` does not exist". Refreshes `status` from the live process.
  absl::StatusOr<ContainerState> Load(const std::string& id);

  absl::Status Remove(const std::string& id);

  // Ids of all containers under the root.
  std::vector<std::string> List() const;

 private:
  std::string root_;
};

// The OCI state JSON (as `state` prints and hooks receive on stdin).
std::string OciStateJson(const ContainerState& state, bool pretty);

// Fields 3 on of /proc/<pid>/stat (`pid` "self" for the caller): after the comm, which may
// hold spaces. Empty if it cannot be read.
std::vector<std::string> ProcStatFields(const std::string& pid);

// Start time of `pid` in clock ticks since boot, or 0 if the process is gone.
uint64_t ProcessStartTime(pid_t pid);

// True if `pid` still is the process recorded with `start_time` and has not exited.
bool ProcessAlive(pid_t pid, uint64_t start_time);

}  // namespace berth::oci
