#pragma once

// cgroup management for one container: v1 (one directory per mounted controller), v2 (one
// directory in the unified hierarchy) and hybrid (v1 controllers plus the cgroup2 mount at
// /sys/fs/cgroup/unified, which joins the container too and takes `resources.unified`).
//
// The manager is picked from the host layout by NewCgroupManager() at create time; the
// directories it made are saved in the container state (Paths()) and LoadCgroupManager()
// rebuilds it from them for later verbs (kill, pause, update, delete). Directories are created
// with all limits written before the init process joins, so the container never runs
// unconstrained.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/oci/spec.h"

namespace berth::oci {

// The metrics containerd's cgroups Metrics message carries (the subset both versions have).
struct CgroupStats {
  uint64_t cpu_usage_total_ns = 0;
  uint64_t cpu_usage_user_ns = 0;
  uint64_t cpu_usage_kernel_ns = 0;
  std::vector<uint64_t> cpu_usage_percpu_ns;
  uint64_t cpu_throttled_periods = 0;
  uint64_t cpu_throttled_time_ns = 0;
  uint64_t cpu_periods = 0;
  uint64_t memory_usage = 0;
  uint64_t memory_max_usage = 0;
  uint64_t memory_limit = 0;
  uint64_t memory_failcnt = 0;
  uint64_t memory_swap_usage = 0;
  uint64_t memory_swap_limit = 0;
  std::map<std::string, uint64_t> memory_stat;
  uint64_t pids_current = 0;
  uint64_t pids_limit = 0;  // 0: unlimited.
  uint64_t oom_kill = 0;
};

class CgroupManager {
 public:
  virtual ~CgroupManager() = default;

  // Creates the container's cgroup directories and writes `resources` (may be null) into them.
  // kInvalidArgument if a limit needs a controller this host does not have. On error nothing
  // created is left behind.
  virtual absl::Status Create(const Resources* resources) = 0;

  // Moves `pid` into every directory of the container.
  virtual absl::Status AddProcess(pid_t pid) = 0;

  // Writes new limits (`update`); fields that are absent are left unchanged.
  virtual absl::Status Update(const Resources& resources) = 0;

  // Freezes or thaws every process of the container and waits until the kernel reports it.
  virtual absl::Status Freeze() = 0;
  virtual absl::Status Thaw() = 0;
  virtual absl::StatusOr<bool> IsFrozen() = 0;

  // Host pids of the processes in the container's cgroup.
  virtual absl::StatusOr<std::vector<pid_t>> Pids() = 0;

  virtual absl::StatusOr<CgroupStats> Stats() = 0;

  // An fd that becomes readable (eventfd, v1) or gets POLLPRI (memory.events, v2) on OOM.
  virtual absl::StatusOr<int> OomEventFd() = 0;

  // Removes the container's directories. kFailedPrecondition if processes remain in them.
  virtual absl::Status Destroy() = 0;

  // controller -> directory (v2 and the hybrid unified directory use the key "unified").
  virtual std::map<std::string, std::string> Paths() const = 0;
};

// Builds the manager for a new container from `cgroups_path` (linux.cgroupsPath; empty means
// "<id>" relative to the runtime's own cgroup, as runc does).
absl::StatusOr<std::unique_ptr<CgroupManager>> NewCgroupManager(const std::string& cgroups_path,
                                                                 const std::string& id);

// Rebuilds the manager of an existing container from Paths() saved in its state.
std::unique_ptr<CgroupManager> LoadCgroupManager(const std::map<std::string, std::string>& paths);

// Rootless or "disabled" mode: a manager that does nothing.
std::unique_ptr<CgroupManager> NoopCgroupManager();

}  // namespace berth::oci
