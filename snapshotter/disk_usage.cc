#include "snapshotter/disk_usage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"

namespace berth::snapshotter {
namespace {

struct Walker {
  absl::flat_hash_set<std::pair<dev_t, ino_t>> seen;
  dev_t root_dev = 0;
  Usage usage;

  void Count(const struct stat& st) {
    if (seen.insert({st.st_dev, st.st_ino}).second) {
      usage.inodes++;
      usage.size += static_cast<int64_t>(st.st_blocks) * 512;
    }
  }

  // `fd` is an open directory; its own inode is already counted.
  absl::Status Walk(int fd, const std::string& path) {
    DIR* dir = fdopendir(fd);
    if (dir == nullptr) {
      close(fd);
      return ErrnoError(errno, "opendir", path);
    }
    absl::Status status;
    errno = 0;
    while (struct dirent* entry = readdir(dir)) {
      absl::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      struct stat st;
      if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // removed while we walk
        status = ErrnoError(errno, "stat", JoinPath(path, name));
        break;
      }
      Count(st);
      if (S_ISDIR(st.st_mode) && st.st_dev == root_dev) {
        int child =
            openat(dirfd(dir), entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (child < 0) {
          status = ErrnoError(errno, "open", JoinPath(path, name));
          break;
        }
        status = Walk(child, JoinPath(path, name));
        if (!status.ok()) break;
      }
    }
    closedir(dir);
    return status;
  }
};

}  // namespace

absl::StatusOr<Usage> DiskUsage(const std::string& root) {
  int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "open", root);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return ErrnoError(errno, "stat", root);
  }
  Walker walker;
  walker.root_dev = st.st_dev;
  walker.Count(st);
  RETURN_IF_ERROR(walker.Walk(fd, root));
  return walker.usage;
}

}  // namespace berth::snapshotter
