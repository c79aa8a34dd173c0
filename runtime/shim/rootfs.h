#pragma once

// The container's rootfs: the Create request's mounts (snapshotter output) mounted on
// <bundle>/rootfs, and unmounted again on delete or failure (containerd's mount.All /
// mount.UnmountAll).

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "containerd/types/mount.pb.h"
#include "plugins/base/unique_fd.h"

namespace berth::shim {

// Mounts each mount on `target` in order. On error, unmounts what it mounted.
absl::Status MountRootfs(const google::protobuf::RepeatedPtrField<containerd::types::Mount>& mounts,
                         const std::string& target);

// Unmounts everything stacked on `target` (lazily if busy). OK if nothing is mounted.
absl::Status UnmountAll(const std::string& target);

// Takes everything stacked on `target` out of the mount table now, and returns fds that keep
// the mounts themselves alive until they are closed. The last unmount of an overlay syncs its
// whole upper filesystem (~1.2 ms here; 9 us with the upper on tmpfs): a shim's Delete answers
// without it, and the sync happens when the shim closes the fds (it exits).
absl::StatusOr<std::vector<UniqueFd>> DetachRootfs(const std::string& target);

}  // namespace berth::shim
