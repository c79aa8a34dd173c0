// Root propagation, pivot_root, masked and read-only paths (crun linux.c and runc
// rootfs_linux.go are the reference for the order of operations).

#include "runtime/oci/linux/rootfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"

namespace berth::oci {
namespace {

unsigned long PropagationFlags(const std::string& name) {
  if (name == "private") return MS_PRIVATE;
  if (name == "rprivate") return MS_PRIVATE | MS_REC;
  if (name == "shared") return MS_SHARED;
  if (name == "rshared") return MS_SHARED | MS_REC;
  if (name == "slave") return MS_SLAVE;
  if (name == "unbindable") return MS_UNBINDABLE;
  if (name == "runbindable") return MS_UNBINDABLE | MS_REC;
  return MS_SLAVE | MS_REC;  // "rslave" and the default.
}

// The flags of the mount holding `path` that a bind remount must keep (MS_NOSUID etc. are
// locked in a user namespace).
unsigned long LockedFlags(const char* path) {
  struct statvfs st;
  if (statvfs(path, &st) != 0) {
    return 0;
  }
  unsigned long flags = 0;
  if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

// Makes the mount that holds `rootfs` private, so pivot_root accepts it.
absl::Status MakeParentPrivate(const std::string& rootfs) {
  std::string path = rootfs;
  while (true) {
    if (mount(nullptr, path.c_str(), nullptr, MS_PRIVATE, nullptr) == 0) {
      return absl::OkStatus();
    }
    if (errno != EINVAL || path == "/") {
      return ErrnoError(errno, "make parent mount private", path);
    }
    size_t slash = path.rfind('/');
    path = slash == 0 ? "/" : path.substr(0, slash);
  }
}

}  // namespace

absl::Status PrepareRootfs(const Spec& spec, const std::string& rootfs) {
  unsigned long prop = PropagationFlags(spec.linux.rootfs_propagation);
  if (prop & MS_SHARED) {
    prop = MS_PRIVATE | MS_REC;  // Made shared again in FinalizeRootfs.
  }
  if (mount(nullptr, "/", nullptr, prop, nullptr) != 0) {
    return ErrnoError(errno, "set propagation of", "/");
  }
  if (mount(rootfs.c_str(), rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return ErrnoError(errno, "bind mount rootfs", rootfs);
  }
  return MakeParentPrivate(rootfs);
}

absl::Status PivotRoot(const std::string& rootfs, bool no_pivot) {
  if (chdir(rootfs.c_str()) != 0) {
    return ErrnoError(errno, "chdir", rootfs);
  }
  if (!no_pivot) {
    UniqueFd old_root(open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!old_root.valid()) {
      return ErrnoError(errno, "open", "/");
    }
    if (syscall(SYS_pivot_root, ".", ".") == 0) {
      // The old root is stacked under the new one; detach it without propagating to the host.
      if (fchdir(old_root.get()) != 0) return ErrnoError(errno, "fchdir old root");
      if (mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
        return ErrnoError(errno, "make old root rslave");
      }
      if (umount2(".", MNT_DETACH) != 0) return ErrnoError(errno, "detach old root");
      if (chdir("/") != 0) return ErrnoError(errno, "chdir", "/");
      return absl::OkStatus();
    }
    if (errno != EINVAL) {
      return ErrnoError(errno, "pivot_root", rootfs);
    }
  }
  // rootfs on ramfs/initramfs (or --no-pivot): move it over "/" and chroot.
  if (mount(rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) != 0) {
    return ErrnoError(errno, "move rootfs to", "/");
  }
  if (chroot(".") != 0) return ErrnoError(errno, "chroot", rootfs);
  if (chdir("/") != 0) return ErrnoError(errno, "chdir", "/");
  return absl::OkStatus();
}

absl::Status MaskPaths(const std::vector<std::string>& paths) {
  for (const std::string& p : paths) {
    struct stat st;
    if (stat(p.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;
      return ErrnoError(errno, "stat masked path", p);
    }
    int rc = S_ISDIR(st.st_mode)
                 ? mount("tmpfs", p.c_str(), "tmpfs", MS_RDONLY, nullptr)
                 : mount("/dev/null", p.c_str(), nullptr, MS_BIND, nullptr);
    if (rc != 0) {
      return ErrnoError(errno, "mask", p);
    }
  }
  return absl::OkStatus();
}

absl::Status ReadonlyPaths(const std::vector<std::string>& paths) {
  for (const std::string& p : paths) {
    if (mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      if (errno == ENOENT) continue;
      return ErrnoError(errno, "bind readonly path", p);
    }
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | LockedFlags(p.c_str());
    if (mount(nullptr, p.c_str(), nullptr, flags, nullptr) != 0) {
      return ErrnoError(errno, "remount readonly path", p);
    }
  }
  return absl::OkStatus();
}

absl::Status FinalizeRootfs(const Spec& spec) {
  if (spec.root.readonly) {
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | LockedFlags("/");
    if (mount(nullptr, "/", nullptr, flags, nullptr) != 0) {
      return ErrnoError(errno, "remount root read-only");
    }
  }
  unsigned long prop = PropagationFlags(spec.linux.rootfs_propagation);
  if ((prop & MS_SHARED) && mount(nullptr, "/", nullptr, prop, nullptr) != 0) {
    return ErrnoError(errno, "make root shared");
  }
  return absl::OkStatus();
}

}  // namespace berth::oci
