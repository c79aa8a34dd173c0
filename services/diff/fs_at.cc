#include "services/diff/fs_at.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"

namespace berth::diff {

absl::StatusOr<UniqueFd> OpenInRoot(int root_fd, absl::string_view rel, int flags) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string path = rel.empty() ? "." : std::string(rel);
  while (true) {
    long fd = syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof(how));
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno == EAGAIN || errno == EINTR) continue;  // a concurrent rename: retry
    return ErrnoError(errno, "open", path);
  }
}

absl::StatusOr<std::vector<std::string>> ListDirAt(int dir_fd) {
  int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "open directory");
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    close(fd);
    return ErrnoError(errno, "fdopendir");
  }
  std::vector<std::string> names;
  while (struct dirent* d = readdir(dir)) {
    std::string name = d->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  closedir(dir);
  return names;
}

absl::Status RemoveAt(int dir_fd, const std::string& name) {
  struct stat st;
  if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoError(errno, "stat", name);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
      return ErrnoError(errno, "unlink", name);
    }
    return absl::OkStatus();
  }
  UniqueFd sub(openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!sub.valid()) return ErrnoError(errno, "open directory", name);
  struct stat sub_st;
  if (fstat(sub.get(), &sub_st) != 0) return ErrnoError(errno, "stat", name);
  if (sub_st.st_dev != st.st_dev) {
    return absl::FailedPreconditionError(absl::StrCat("remove `", name, "`: a mount point"));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> children, ListDirAt(sub.get()));
  for (const std::string& child : children) RETURN_IF_ERROR(RemoveAt(sub.get(), child));
  if (unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return ErrnoError(errno, "rmdir", name);
  }
  return absl::OkStatus();
}

}  // namespace berth::diff
