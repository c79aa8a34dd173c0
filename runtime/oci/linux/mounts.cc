// The spec's mounts, performed under the rootfs before pivot_root.

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"
#include "runtime/oci/linux/cgroups_internal.h"
#include "runtime/oci/linux/rootfs.h"

namespace berth::oci {
namespace {

// Creates `target` as a directory or an empty file, like the source it will hold.
absl::Status CreateTarget(const std::string& target, bool is_dir) {
  if (is_dir) {
    return MkdirAll(target, 0755);
  }
  RETURN_IF_ERROR(MkdirAll(target.substr(0, target.rfind('/')), 0755));
  int fd = open(target.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0 && errno != EEXIST && errno != EISDIR) {
    return ErrnoError(errno, "create mount target", target);
  }
  if (fd >= 0) {
    close(fd);
  }
  return absl::OkStatus();
}

// Flags a bind mount must be remounted with to take the mount's options.
constexpr unsigned long kRemountable =
    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME |
    MS_STRICTATIME;

absl::Status BindMount(const Mount& m, const std::string& target) {
  struct stat st;
  if (stat(m.source.c_str(), &st) != 0) {
    return ErrnoError(errno, "stat bind source", m.source);
  }
  RETURN_IF_ERROR(CreateTarget(target, S_ISDIR(st.st_mode)));
  unsigned long flags = MS_BIND | (m.flags & MS_REC);
  if (mount(m.source.c_str(), target.c_str(), nullptr, flags, nullptr) != 0) {
    return ErrnoError(errno, absl::StrCat("bind mount `", m.source, "` on"), m.destination);
  }
  if ((m.flags & kRemountable) != 0) {
    unsigned long re = MS_BIND | MS_REMOUNT | (m.flags & kRemountable);
    if (mount(nullptr, target.c_str(), nullptr, re, nullptr) != 0) {
      return ErrnoError(errno, "remount bind", m.destination);
    }
  }
  return absl::OkStatus();
}

// mount_setattr(2)'s argument and flags (<linux/mount.h> clashes with glibc's <sys/mount.h>).
struct MountAttr {
  uint64_t attr_set = 0, attr_clr = 0, propagation = 0, userns_fd = 0;
};
constexpr uint64_t kAttrReadOnly = 0x1, kAttrNoSuid = 0x2, kAttrNoDev = 0x4, kAttrNoExec = 0x8;
constexpr uint64_t kAttrAtimeMask = 0x70;  // MOUNT_ATTR__ATIME; relatime is 0 within it
constexpr unsigned kAtRecursive = 0x8000;

// What the per-bind remount (MS_BIND | MS_REMOUNT | `flags`) does, for every mount below
// `parent` at once (two calls instead of one remount per hierarchy): `parent` itself keeps
// its own flags but stays writable, as runc leaves the cgroup tmpfs. Unimplemented when the
// kernel has no mount_setattr (before 5.12).
absl::Status ReadOnlyBelow(const std::string& parent, unsigned long flags) {
  MountAttr below;
  below.attr_set = kAttrReadOnly | ((flags & MS_NOSUID) ? kAttrNoSuid : 0) |
                   ((flags & MS_NODEV) ? kAttrNoDev : 0) | ((flags & MS_NOEXEC) ? kAttrNoExec : 0);
  below.attr_clr = kAttrAtimeMask;  // relatime
  if (syscall(SYS_mount_setattr, AT_FDCWD, parent.c_str(), kAtRecursive, &below,
              sizeof(below)) != 0) {
    if (errno == ENOSYS) return absl::UnimplementedError("mount_setattr");
    return ErrnoError(errno, "make read-only below", parent);
  }
  MountAttr top;
  top.attr_clr = kAttrReadOnly;
  if (syscall(SYS_mount_setattr, AT_FDCWD, parent.c_str(), 0, &top, sizeof(top)) != 0) {
    return ErrnoError(errno, "keep writable", parent);
  }
  return absl::OkStatus();
}

// A "cgroup" mount: a tmpfs with the container's own v1 cgroup directories bound in, in the
// host's mount order (runc's behaviour without a cgroup namespace; like runc, the cgroup2
// mount of a hybrid host is left out), or the cgroup2 filesystem on a pure v2 host.
absl::Status CgroupMount(const Mount& m, const std::string& target,
                         const std::map<std::string, std::string>& paths) {
  RETURN_IF_ERROR(MkdirAll(target, 0755));
  unsigned long ro = m.flags & MS_RDONLY;
  unsigned long base = (m.flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC)) | MS_RELATIME;
  if (paths.size() == 1 && paths.count("unified") == 1) {
    if (mount("cgroup2", target.c_str(), "cgroup2", base | ro, nullptr) == 0) {
      return absl::OkStatus();
    }
    return ErrnoError(errno, "mount cgroup2 on", m.destination);
  }
  if (mount("tmpfs", target.c_str(), "tmpfs", base, "mode=755") != 0) {
    return ErrnoError(errno, "mount tmpfs on", m.destination);
  }
  ASSIGN_OR_RETURN(cgroups::Layout layout, cgroups::ReadLayout());
  std::vector<std::string> binds;
  for (const cgroups::Hierarchy& h : layout.hierarchies) {
    std::string controllers = absl::StrJoin(h.controllers, ",");
    auto dir = paths.find(controllers);
    if (h.v2 || dir == paths.end()) continue;
    std::string name = controllers.rfind("name=", 0) == 0 ? controllers.substr(5) : controllers;
    std::string sub = absl::StrCat(target, "/", name);
    if (mkdir(sub.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoError(errno, "mkdir", sub);
    if (mount(dir->second.c_str(), sub.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      return ErrnoError(errno, "bind cgroup", dir->second);
    }
    binds.push_back(std::move(sub));
    if (h.controllers.size() > 1) {  // "cpu,cpuacct": add "cpu" and "cpuacct" links.
      for (const std::string& c : h.controllers) {
        std::string link = absl::StrCat(target, "/", c);
        (void)symlink(name.c_str(), link.c_str());
      }
    }
  }
  if (!ro || binds.empty()) return absl::OkStatus();
  absl::Status below = ReadOnlyBelow(target, base);
  if (!absl::IsUnimplemented(below)) return below;
  for (const std::string& sub : binds) {
    if (mount(nullptr, sub.c_str(), nullptr, MS_BIND | MS_REMOUNT | base | ro, nullptr) != 0) {
      return ErrnoError(errno, "remount cgroup read-only", sub);
    }
  }
  return absl::OkStatus();
}

absl::Status MountOne(const Mount& m, const std::string& rootfs,
                      const std::map<std::string, std::string>& cgroup_paths) {
  ASSIGN_OR_RETURN(std::string target, SecureJoin(rootfs, m.destination));
  if (m.IsBind()) {
    RETURN_IF_ERROR(BindMount(m, target));
  } else if (m.type == "cgroup") {
    RETURN_IF_ERROR(CgroupMount(m, target, cgroup_paths));
  } else {
    RETURN_IF_ERROR(MkdirAll(target, 0755));
    unsigned long flags = m.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    const char* data = m.data.empty() ? nullptr : m.data.c_str();
    if (mount(m.source.c_str(), target.c_str(), m.type.c_str(), flags, data) != 0) {
      int err = errno;
      if (m.type == "sysfs" && (err == EPERM || err == EBUSY)) {
        // No private network namespace: bind the host's /sys, as runc does.
        Mount bind = m;
        bind.source = "/sys";
        bind.flags |= MS_BIND | MS_REC;
        return BindMount(bind, target);
      }
      return ErrnoError(err, absl::StrCat("mount ", m.type, " on"), m.destination);
    }
  }
  if (m.propagation != 0 && mount(nullptr, target.c_str(), nullptr, m.propagation, nullptr) != 0) {
    return ErrnoError(errno, "set propagation of", m.destination);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> SecureJoin(const std::string& root, const std::string& unsafe) {
  std::vector<std::string> todo = absl::StrSplit(unsafe, '/', absl::SkipEmpty());
  std::reverse(todo.begin(), todo.end());
  std::vector<std::string> done;
  int links = 0;
  while (!todo.empty()) {
    std::string part = std::move(todo.back());
    todo.pop_back();
    if (part == ".") continue;
    if (part == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    std::string current = root;
    for (const std::string& d : done) absl::StrAppend(&current, "/", d);
    absl::StrAppend(&current, "/", part);
    char buf[PATH_MAX];
    ssize_t n = readlink(current.c_str(), buf, sizeof(buf) - 1);
    if (n < 0) {  // Not a symlink (or not there yet): take it as is.
      done.push_back(std::move(part));
      continue;
    }
    if (++links > 255) {
      return absl::InvalidArgumentError(absl::StrCat("resolve `", unsafe, "`: too many symlinks"));
    }
    std::string dest(buf, static_cast<size_t>(n));
    if (!dest.empty() && dest[0] == '/') done.clear();
    std::vector<std::string> parts = absl::StrSplit(dest, '/', absl::SkipEmpty());
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_back(*it);
  }
  std::string out = root;
  for (const std::string& d : done) absl::StrAppend(&out, "/", d);
  return out;
}

absl::Status MountAll(const Spec& spec, const std::string& rootfs,
                      const std::map<std::string, std::string>& cgroup_paths) {
  for (const Mount& m : spec.mounts) {
    RETURN_IF_ERROR(MountOne(m, rootfs, cgroup_paths));
  }
  return absl::OkStatus();
}

}  // namespace berth::oci
