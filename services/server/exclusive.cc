#include "services/server/exclusive.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_util.h"
#include "runtime/ttrpc/socket.h"

namespace berth::server {

absl::StatusOr<UniqueFd> LockDirectory(const std::string& dir, const std::string& what) {
  std::string path = JoinPath(dir, "berthd.lock");
  UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return ErrnoError(errno, "open", path);
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return ErrnoError(errno, "lock", path);
    absl::StatusOr<std::string> holder = ReadFile(path);
    std::string pid = holder.ok() ? std::string(absl::StripAsciiWhitespace(*holder)) : "";
    return absl::FailedPreconditionError(
        absl::StrCat("another berthd", pid.empty() ? "" : absl::StrCat(" (pid ", pid, ")"),
                     " uses the ", what, " directory `", dir, "`"));
  }
  std::string pid = absl::StrCat(getpid(), "\n");
  if (ftruncate(fd.get(), 0) != 0 ||
      pwrite(fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return ErrnoError(errno, "write", path);
  }
  return fd;
}

absl::Status CheckNoLiveSocket(const std::string& address) {
  absl::StatusOr<UniqueFd> connected = ttrpc::ConnectUnix(address);
  if (connected.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("another daemon serves on `", address, "`"));
  }
  // A path too long for a unix socket is an error; ENOENT, ECONNREFUSED (a stale socket), ...
  // mean nobody is there.
  if (absl::IsInvalidArgument(connected.status())) return connected.status();
  return absl::OkStatus();
}

bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

}  // namespace berth::server
