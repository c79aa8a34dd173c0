#include "runtime/shim/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>

#include "absl/strings/str_cat.h"
#include "plugins/base/status_util.h"
#include "runtime/oci/spec.h"

namespace berth::shim {

absl::Status MountRootfs(const google::protobuf::RepeatedPtrField<containerd::types::Mount>& mounts,
                         const std::string& target) {
  for (const containerd::types::Mount& m : mounts) {
    oci::Mount mount;
    mount.type = m.type();
    mount.source = m.source();
    mount.options.assign(m.options().begin(), m.options().end());
    oci::ParseMountOptions(mount);
    unsigned long flags = mount.flags;
    if (mount.type == "bind" || mount.type == "rbind") flags |= MS_BIND;
    // Read-only binds need a remount; do the mount first without it.
    unsigned long first = (flags & MS_BIND) ? flags & ~MS_RDONLY : flags;
    const char* data = mount.data.empty() ? nullptr : mount.data.c_str();
    if (::mount(mount.source.c_str(), target.c_str(), mount.type.c_str(), first, data) != 0) {
      absl::Status status = ErrnoError(errno, absl::StrCat("mount ", mount.type, " ",
                                                           mount.source, " on"), target);
      (void)UnmountAll(target);
      return status;
    }
    if ((flags & MS_BIND) && (flags & MS_RDONLY) &&
        ::mount("", target.c_str(), nullptr, flags | MS_REMOUNT, nullptr) != 0) {
      absl::Status status = ErrnoError(errno, "remount read-only", target);
      (void)UnmountAll(target);
      return status;
    }
    if (mount.propagation != 0 &&
        ::mount("", target.c_str(), nullptr, mount.propagation, nullptr) != 0) {
      absl::Status status = ErrnoError(errno, "set propagation of", target);
      (void)UnmountAll(target);
      return status;
    }
  }
  return absl::OkStatus();
}

absl::Status UnmountAll(const std::string& target) {
  for (int i = 0; i < 64; ++i) {
    if (umount2(target.c_str(), UMOUNT_NOFOLLOW) == 0) continue;
    if (errno == EINVAL || errno == ENOENT) return absl::OkStatus();  // Not a mount point.
    if (errno == EBUSY && umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) continue;
    return ErrnoError(errno, "unmount", target);
  }
  return absl::InternalError(absl::StrCat("too many mounts on ", target));
}

absl::StatusOr<std::vector<UniqueFd>> DetachRootfs(const std::string& target) {
  std::vector<UniqueFd> pinned;
  for (int i = 0; i < 64; ++i) {
    UniqueFd top(open(target.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) {
      if (top.valid()) pinned.push_back(std::move(top));
      continue;
    }
    if (errno == EINVAL || errno == ENOENT) return pinned;  // nothing (more) mounted
    return ErrnoError(errno, "unmount", target);
  }
  return absl::InternalError(absl::StrCat("too many mounts on ", target));
}

}  // namespace berth::shim
