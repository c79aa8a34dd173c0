#include "snapshotter/native/copy_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "plugins/base/file_util.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"

namespace berth::snapshotter::native {
namespace {

// Copies xattrs by path, without following a final symlink.
absl::Status CopyXattrs(const std::string& src, const std::string& dst) {
  std::string names(4096, '\0');
  ssize_t n;
  while ((n = llistxattr(src.c_str(), names.data(), names.size())) < 0 && errno == ERANGE) {
    names.resize(names.size() * 4);
  }
  if (n < 0) {
    if (errno == ENOTSUP) return absl::OkStatus();
    return ErrnoError(errno, "listxattr", src);
  }
  names.resize(static_cast<size_t>(n));
  for (absl::string_view name : absl::StrSplit(names, '\0', absl::SkipEmpty())) {
    std::string key(name);
    std::string value(256, '\0');
    ssize_t len;
    while ((len = lgetxattr(src.c_str(), key.c_str(), value.data(), value.size())) < 0 &&
           errno == ERANGE) {
      value.resize(value.size() * 4);
    }
    if (len < 0) return ErrnoError(errno, absl::StrCat("getxattr ", key), src);
    if (lsetxattr(dst.c_str(), key.c_str(), value.data(), static_cast<size_t>(len), 0) != 0) {
      BERTH_LOG(DEBUG) << "native: cannot copy xattr " << key << " to " << dst << ": "
                       << strerror(errno);
    }
  }
  return absl::OkStatus();
}

absl::Status CopyContents(const std::string& src, const std::string& dst, mode_t mode) {
  UniqueFd in(open(src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in) return ErrnoError(errno, "open", src);
  UniqueFd out(
      open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777));
  if (!out) return ErrnoError(errno, "create", dst);
  bool use_copy_file_range = true;
  char buf[1 << 16];
  while (true) {
    ssize_t n;
    if (use_copy_file_range) {
      n = copy_file_range(in.get(), nullptr, out.get(), nullptr, 1 << 30, 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
        use_copy_file_range = false;
        continue;
      }
    } else {
      n = read(in.get(), buf, sizeof(buf));
      if (n > 0) {
        for (ssize_t off = 0; off < n;) {
          ssize_t w = write(out.get(), buf + off, static_cast<size_t>(n - off));
          if (w < 0 && errno == EINTR) continue;
          if (w < 0) return ErrnoError(errno, "write", dst);
          off += w;
        }
      }
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, "copy", src);
    if (n == 0) break;
  }
  return out.Close();
}

class Copier {
 public:
  absl::Status CopyEntry(const std::string& src, const std::string& dst, const struct stat& st) {
    if (S_ISDIR(st.st_mode)) {
      if (mkdir(dst.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError(errno, "mkdir", dst);
      RETURN_IF_ERROR(CopyChildren(src, dst, st.st_dev));
      return CopyMetadata(src, dst, st);
    }
    if (st.st_nlink > 1) {
      auto [it, inserted] = links_.try_emplace({st.st_dev, st.st_ino}, dst);
      if (!inserted) {
        if (link(it->second.c_str(), dst.c_str()) != 0) return ErrnoError(errno, "link", dst);
        return absl::OkStatus();
      }
    }
    if (S_ISREG(st.st_mode)) {
      RETURN_IF_ERROR(CopyContents(src, dst, st.st_mode));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = readlink(src.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoError(errno, "readlink", src);
      target.resize(static_cast<size_t>(n));
      if (symlink(target.c_str(), dst.c_str()) != 0) return ErrnoError(errno, "symlink", dst);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode) ||
               S_ISSOCK(st.st_mode)) {
      if (mknod(dst.c_str(), st.st_mode, st.st_rdev) != 0) return ErrnoError(errno, "mknod", dst);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("copy `", src, "`: unsupported file type"));
    }
    return CopyMetadata(src, dst, st);
  }

 private:
  absl::Status CopyChildren(const std::string& src, const std::string& dst, dev_t dev) {
    DIR* dir = opendir(src.c_str());
    if (dir == nullptr) return ErrnoError(errno, "opendir", src);
    std::vector<std::string> names;
    while (struct dirent* entry = readdir(dir)) {
      absl::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    closedir(dir);
    for (const std::string& name : names) {
      std::string from = JoinPath(src, name);
      struct stat st;
      if (lstat(from.c_str(), &st) != 0) return ErrnoError(errno, "stat", from);
      if (S_ISDIR(st.st_mode) && st.st_dev != dev) {
        // A mount point below the tree: copy the directory itself, not the other filesystem.
        std::string to = JoinPath(dst, name);
        if (mkdir(to.c_str(), 0700) != 0) return ErrnoError(errno, "mkdir", to);
        RETURN_IF_ERROR(CopyMetadata(from, to, st));
        continue;
      }
      RETURN_IF_ERROR(CopyEntry(from, JoinPath(dst, name), st));
    }
    return absl::OkStatus();
  }

  // Owner, then mode (chown clears setuid bits), xattrs, then times (last: the rest touch
  // ctime/mtime of directories).
  absl::Status CopyMetadata(const std::string& src, const std::string& dst, const struct stat& st) {
    if (lchown(dst.c_str(), st.st_uid, st.st_gid) != 0) return ErrnoError(errno, "chown", dst);
    if (!S_ISLNK(st.st_mode) && chmod(dst.c_str(), st.st_mode & 07777) != 0) {
      return ErrnoError(errno, "chmod", dst);
    }
    RETURN_IF_ERROR(CopyXattrs(src, dst));
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoError(errno, "utimensat", dst);
    }
    return absl::OkStatus();
  }

  absl::flat_hash_map<std::pair<dev_t, ino_t>, std::string> links_;
};

}  // namespace

absl::Status CopyDir(const std::string& src, const std::string& dst) {
  struct stat st;
  if (lstat(src.c_str(), &st) != 0) return ErrnoError(errno, "stat", src);
  if (!S_ISDIR(st.st_mode)) return ErrnoError(ENOTDIR, "copy", src);
  Copier copier;
  return copier.CopyEntry(src, dst, st);
}

}  // namespace berth::snapshotter::native
