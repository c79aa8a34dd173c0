#pragma once

// The container's filesystem view, set up by the init process inside its new mount namespace:
// root propagation and the rootfs bind, the spec's mounts (mounts.cc), /dev (devices.cc),
// pivot_root (or MS_MOVE + chroot with --no-pivot), masked and read-only paths, and the
// read-only root remount. Every target is resolved inside the rootfs without following
// symlinks out of it (SecureJoin).

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/oci/spec.h"

namespace berth::oci {

// Resolves `unsafe` under `root` as if `root` were "/": symlinks (absolute or relative) are
// followed but never escape `root`. The result may not exist yet.
absl::StatusOr<std::string> SecureJoin(const std::string& root, const std::string& unsafe);

// Sets the propagation of "/" (rootfsPropagation, default rslave), makes the rootfs's parent
// mount private and bind-mounts the rootfs onto itself so it can be pivoted to.
absl::Status PrepareRootfs(const Spec& spec, const std::string& rootfs);

// Mounts every entry of spec.mounts under `rootfs`. `cgroup_paths` (controller -> host dir) is
// used for "cgroup" mounts without a cgroup namespace.
absl::Status MountAll(const Spec& spec, const std::string& rootfs,
                      const std::map<std::string, std::string>& cgroup_paths);

// Creates the default devices, the spec's devices and the /dev symlinks when /dev is not
// bind-mounted from the host. `bind_devices`: bind from the host instead of mknod (user ns).
absl::Status SetupDev(const Spec& spec, const std::string& rootfs, bool bind_devices);

// Makes `rootfs` the root: pivot_root(2) and detach of the old root, or MS_MOVE + chroot
// when `no_pivot` (rootfs on ramfs).
absl::Status PivotRoot(const std::string& rootfs, bool no_pivot);

// After the pivot: masks (tmpfs for directories, /dev/null for files) and read-only binds.
absl::Status MaskPaths(const std::vector<std::string>& paths);
absl::Status ReadonlyPaths(const std::vector<std::string>& paths);

// Remounts "/" read-only (root.readonly) and applies a shared rootfsPropagation.
absl::Status FinalizeRootfs(const Spec& spec);

}  // namespace berth::oci
