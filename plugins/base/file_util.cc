#include "plugins/base/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"

namespace berth {
namespace {

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

std::string DirName(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Removes the contents of the directory open at `dir_fd`, then nothing else.
absl::Status RemoveContents(int dir_fd, const std::string& path) {
  DIR* dir = fdopendir(dup(dir_fd));
  if (dir == nullptr) return ErrnoError(errno, "opendir", path);
  absl::Status result;
  while (struct dirent* entry = readdir(dir)) {
    absl::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::string child = JoinPath(path, name);
    if (unlinkat(dir_fd, entry->d_name, 0) == 0) continue;
    if (errno != EISDIR && errno != EPERM) {
      result.Update(ErrnoError(errno, "unlink", child));
      continue;
    }
    int fd = openat(dir_fd, entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      result.Update(ErrnoError(errno, "open", child));
      continue;
    }
    UniqueFd child_fd(fd);
    result.Update(RemoveContents(child_fd.get(), child));
    if (unlinkat(dir_fd, entry->d_name, AT_REMOVEDIR) != 0) {
      result.Update(ErrnoError(errno, "rmdir", child));
    }
  }
  closedir(dir);
  return result;
}

}  // namespace

std::string JoinPath(absl::string_view a, absl::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  bool a_slash = a.back() == '/';
  bool b_slash = b.front() == '/';
  if (a_slash && b_slash) return absl::StrCat(a, b.substr(1));
  if (a_slash || b_slash) return absl::StrCat(a, b);
  return absl::StrCat(a, "/", b);
}

bool PathExists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoError(errno, "open", path);
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

absl::Status SyncDir(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return ErrnoError(errno, "open", path);
  if (fsync(fd.get()) != 0) return ErrnoError(errno, "fsync", path);
  return absl::OkStatus();
}

namespace {

// Temp file, write, (fsync), rename.
absl::Status ReplaceFile(const std::string& path, absl::string_view data, mode_t mode,
                         bool sync) {
  std::string temp = absl::StrCat(path, ".tmp-", getpid());
  UniqueFd fd(open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return ErrnoError(errno, "create", temp);
  absl::Status status = WriteAll(fd.get(), data, temp);
  if (status.ok() && sync && fsync(fd.get()) != 0) status = ErrnoError(errno, "fsync", temp);
  if (status.ok()) status = fd.Close();
  if (status.ok() && rename(temp.c_str(), path.c_str()) != 0) {
    status = ErrnoError(errno, "rename", temp);
  }
  if (!status.ok()) unlink(temp.c_str());
  return status;
}

}  // namespace

absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, mode_t mode) {
  RETURN_IF_ERROR(ReplaceFile(path, data, mode, /*sync=*/true));
  return SyncDir(DirName(path));
}

absl::Status WriteFileReplace(const std::string& path, absl::string_view data, mode_t mode) {
  return ReplaceFile(path, data, mode, /*sync=*/false);
}

absl::Status MkdirAll(const std::string& path, mode_t mode) {
  if (path.empty()) return absl::InvalidArgumentError("mkdir: empty path");
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return ErrnoError(ENOTDIR, "mkdir", path);
  }
  std::string parent = DirName(path);
  if (parent != path && parent != "." && parent != "/") {
    RETURN_IF_ERROR(MkdirAll(parent, mode));
  }
  if (mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return ErrnoError(errno, "mkdir", path);
  }
  return absl::OkStatus();
}

absl::Status RemoveAll(const std::string& path) {
  if (unlink(path.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
  if (errno != EISDIR && errno != EPERM) return ErrnoError(errno, "unlink", path);
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return ErrnoError(errno, "open", path);
  RETURN_IF_ERROR(RemoveContents(fd.get(), path));
  if (rmdir(path.c_str()) != 0 && errno != ENOENT) return ErrnoError(errno, "rmdir", path);
  return absl::OkStatus();
}

namespace {

// Repeats `transfer(done)` (a pread or pwrite of what is left) until `size` bytes moved.
template <typename Transfer>
int RepeatUntilDone(size_t size, Transfer transfer) {
  for (size_t done = 0; done < size;) {
    ssize_t n = transfer(done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    done += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

int PwriteFull(int fd, const void* data, size_t size, int64_t offset) {
  const char* bytes = static_cast<const char*>(data);
  return RepeatUntilDone(size, [&](size_t done) {
    return pwrite(fd, bytes + done, size - done, offset + static_cast<int64_t>(done));
  });
}

int PreadFull(int fd, void* data, size_t size, int64_t offset) {
  char* bytes = static_cast<char*>(data);
  return RepeatUntilDone(size, [&](size_t done) {
    return pread(fd, bytes + done, size - done, offset + static_cast<int64_t>(done));
  });
}

}  // namespace berth
