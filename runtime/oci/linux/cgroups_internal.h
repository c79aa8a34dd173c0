#pragma once

// Shared pieces of the cgroup v1 and v2 managers. Internal to runtime/oci.

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/oci/linux/cgroups.h"

namespace berth::oci::cgroups {

// One line of /proc/self/mountinfo describing a cgroup or cgroup2 mount.
struct Hierarchy {
  std::string mount_point;
  std::string root;                      // Mount root inside the hierarchy ("/" normally).
  std::vector<std::string> controllers;  // v1: "memory", "name=systemd"; v2: empty.
  bool v2 = false;
};

struct Layout {
  std::vector<Hierarchy> hierarchies;
  std::map<std::string, std::string> self;  // controller (or "" for v2) -> own cgroup path.
  bool pure_v2 = false;
};

absl::StatusOr<Layout> ReadLayout();

// Writes `value` to `dir/file` (no O_CREAT, no trailing newline needed by the kernel).
absl::Status WriteFile(const std::string& dir, absl::string_view file, absl::string_view value);
absl::StatusOr<std::string> ReadFile(const std::string& dir, absl::string_view file);
absl::StatusOr<uint64_t> ReadUint(const std::string& dir, absl::string_view file);
// "key value" lines (memory.stat, cpu.stat).
std::map<std::string, uint64_t> ReadKeyValues(const std::string& dir, absl::string_view file);

// The pids listed in `dir/cgroup.procs`.
absl::StatusOr<std::vector<pid_t>> ReadProcs(const std::string& dir);

// mkdir -p that reports whether the leaf was created by this call.
absl::Status MakeDirs(const std::string& path, bool* created);

// rmdir, retried for up to ~1.4 s while the last processes finish exiting (or once, without
// `wait`: after one hierarchy timed out, the others hold the same processes).
absl::Status RemoveDir(const std::string& path, bool wait = true);

// Where the container's cgroup lives inside a hierarchy: `cgroups_path` if absolute, else
// below the runtime's own cgroup `self_path`.
std::string ContainerPath(const std::string& cgroups_path, const std::string& self_path);

std::unique_ptr<CgroupManager> NewV1Manager(std::map<std::string, std::string> dirs,
                                            std::string unified_dir);
std::unique_ptr<CgroupManager> NewV2Manager(std::string dir);

}  // namespace berth::oci::cgroups
