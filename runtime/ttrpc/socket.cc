#include "runtime/ttrpc/socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"

namespace berth::ttrpc {
namespace {

absl::StatusOr<sockaddr_un> MakeAddress(absl::string_view address, socklen_t* length) {
  ASSIGN_OR_RETURN(std::string path, SocketPath(address));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: `", path, "`"));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (path[0] == '@') {
    addr.sun_path[0] = '\0';  // Abstract namespace: no terminating NUL.
    *length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  } else {
    *length = static_cast<socklen_t>(sizeof(addr));
  }
  return addr;
}

}  // namespace

absl::StatusOr<std::string> SocketPath(absl::string_view address) {
  absl::string_view path = address;
  if (absl::ConsumePrefix(&path, "unix://")) {
  } else if (absl::StrContains(path, "://")) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported ttrpc address `", address, "`"));
  }
  if (path.empty()) {
    return absl::InvalidArgumentError("empty ttrpc address");
  }
  return std::string(path);
}

absl::Status SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return ErrnoError(errno, "fcntl O_NONBLOCK");
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> ListenUnix(absl::string_view address, int backlog) {
  socklen_t length;
  ASSIGN_OR_RETURN(sockaddr_un addr, MakeAddress(address, &length));
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) {
    return ErrnoError(errno, "socket");
  }
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), length) != 0) {
    int err = errno == EADDRINUSE ? EEXIST : errno;
    return ErrnoError(err, "bind", address);
  }
  if (listen(fd.get(), backlog) != 0) {
    return ErrnoError(errno, "listen", address);
  }
  return fd;
}

absl::StatusOr<UniqueFd> ConnectUnix(absl::string_view address) {
  socklen_t length;
  ASSIGN_OR_RETURN(sockaddr_un addr, MakeAddress(address, &length));
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    return ErrnoError(errno, "socket");
  }
  int rc;
  do {
    rc = connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), length);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    absl::Status status = ErrnoError(err, "connect", address);
    if (err == ENOENT || err == ECONNREFUSED || err == EAGAIN) {
      return absl::UnavailableError(status.message());
    }
    return status;
  }
  RETURN_IF_ERROR(SetNonBlocking(fd.get()));
  return fd;
}

}  // namespace berth::ttrpc
