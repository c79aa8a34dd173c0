#pragma once

// Performing Mount lists (snapshotter/mount.h) with mount(2): the consumer side of "mounts are
// data" (containerd mount/mount_linux.go, mount/temp.go). Used by the diff service, the shim
// and tests. Requires CAP_SYS_ADMIN in the caller's mount namespace.
//
//   RETURN_IF_ERROR(WithTempMount(mounts, [&](const std::string& root) {
//     return ApplyLayer(root, tar);
//   }));

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "snapshotter/mount.h"

namespace berth::snapshotter {

// Mount options split the way mount(2) wants them.
struct ParsedMountOptions {
  unsigned long flags = 0;        // MS_* flags for the mount itself (MS_BIND, MS_RDONLY...)
  unsigned long propagation = 0;  // MS_PRIVATE/MS_SHARED/MS_SLAVE/MS_UNBINDABLE (+MS_REC)
  std::string data;               // filesystem options, comma-joined
};

// Splits fstab-style options into flags, propagation and data. "rw"/"ro", "bind"/"rbind",
// "suid"/"nosuid", "dev"/"nodev", "exec"/"noexec", "sync", "remount", "mand", "dirsync",
// "atime"/"noatime", "diratime"/"nodiratime", "relatime"/"norelatime", "strictatime",
// "[r]private", "[r]shared", "[r]slave", "[r]unbindable" are flags; the rest is data.
ParsedMountOptions ParseMountOptions(absl::Span<const std::string> options);

// Performs `mount` on `target` (`target` joined with mount.target when that is set).
// Bind mounts get a second MS_REMOUNT call for "ro" and friends, as the kernel ignores them
// on the first. Overlay data longer than a page is compacted (see mount.h).
absl::Status MountOne(const Mount& mount, const std::string& target);

// Performs `mounts` in order on `target`. On failure, undoes the mounts it made and returns
// the first error.
absl::Status MountAll(absl::Span<const Mount> mounts, const std::string& target);

// Unmounts everything stacked on `target` (repeats umount2 until the path is not a mount
// point). `flags` are umount2 flags (e.g. MNT_DETACH). OK if nothing is mounted there.
absl::Status UnmountAll(const std::string& target, int flags = 0);

// Owns the mounts stacked on a directory: the destructor unmounts them all (MNT_DETACH, errors
// ignored) unless Release()d. Move-only.
class ScopedMount {
 public:
  // Mounts `mounts` on `target` (MountAll) and takes ownership of the result.
  static absl::StatusOr<ScopedMount> Create(absl::Span<const Mount> mounts,
                                            const std::string& target);

  ScopedMount(ScopedMount&& other) noexcept;
  ScopedMount& operator=(ScopedMount&& other) noexcept;
  ScopedMount(const ScopedMount&) = delete;
  ScopedMount& operator=(const ScopedMount&) = delete;
  ~ScopedMount();

  const std::string& target() const { return target_; }
  // Unmounts now and reports errors (a busy mount is detached instead).
  absl::Status Unmount();
  // Keeps the mounts; returns the target.
  std::string Release();

 private:
  explicit ScopedMount(std::string target) : target_(std::move(target)) {}
  std::string target_;
};

// Mounts `mounts` on a fresh temporary directory under `temp_parent` ("" = $TMPDIR or /tmp),
// calls `fn` with its path, then always unmounts and removes the directory, whatever `fn`
// returned. Returns fn's error first, then any unmount error.
absl::Status WithTempMount(absl::Span<const Mount> mounts,
                           absl::FunctionRef<absl::Status(const std::string& root)> fn,
                           const std::string& temp_parent = "");

}  // namespace berth::snapshotter
