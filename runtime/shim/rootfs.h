#pragma once

// The container's rootfs: the Create request's mounts (snapshotter output) mounted on
// <bundle>/rootfs, and unmounted again on delete or failure (containerd's mount.All /
// mount.UnmountAll).

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "containerd/types/mount.pb.h"

namespace berth::shim {

// Mounts each mount on `target` in order. On error, unmounts what it mounted.
absl::Status MountRootfs(const google::protobuf::RepeatedPtrField<containerd::types::Mount>& mounts,
                         const std::string& target);

// Unmounts everything stacked on `target` (lazily if busy). OK if nothing is mounted.
absl::Status UnmountAll(const std::string& target);

}  // namespace berth::shim
