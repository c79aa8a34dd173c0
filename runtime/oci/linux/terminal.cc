#include "runtime/oci/linux/terminal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"

namespace berth::oci {

absl::StatusOr<UniqueFd> ConnectConsoleSocket(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("console socket path `", path, "` is too long"));
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return ErrnoError(errno, "socket");
  }
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoError(errno, "connect to console socket", path);
  }
  return fd;
}

absl::Status SendFd(int sock, int fd, const std::string& name) {
  char control[CMSG_SPACE(sizeof(int))] = {};
  iovec iov{const_cast<char*>(name.data()), name.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
    return ErrnoError(errno, "send terminal fd");
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> RecvFd(int sock) {
  char buf[256];
  char control[CMSG_SPACE(sizeof(int))] = {};
  iovec iov{buf, sizeof(buf)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) < 0) {
    return ErrnoError(errno, "receive terminal fd");
  }
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (cmsg == nullptr || cmsg->cmsg_type != SCM_RIGHTS) {
    return absl::InternalError("receive terminal fd: no fd in the message");
  }
  int fd;
  memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
  return UniqueFd(fd);
}

absl::Status SetupTerminal(int socket_fd, const std::optional<ConsoleSize>& size,
                           bool mount_console) {
  UniqueFd master(open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master.valid()) {
    return ErrnoError(errno, "open", "/dev/ptmx");
  }
  if (unlockpt(master.get()) != 0) {
    return ErrnoError(errno, "unlockpt");
  }
  char name[128];
  if (ptsname_r(master.get(), name, sizeof(name)) != 0) {
    return ErrnoError(errno, "ptsname");
  }
  UniqueFd slave(open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave.valid()) {
    return ErrnoError(errno, "open", name);
  }
  if (size && size->height > 0) {
    winsize ws{size->height, size->width, 0, 0};
    ioctl(slave.get(), TIOCSWINSZ, &ws);
  }
  if (mount_console) {
    int fd = open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);
    if (mount(name, "/dev/console", nullptr, MS_BIND, nullptr) != 0) {
      return ErrnoError(errno, "bind mount console", name);
    }
  }
  RETURN_IF_ERROR(SendFd(socket_fd, master.get(), name));
  master.Reset();
  if (setsid() < 0) {
    return ErrnoError(errno, "setsid");
  }
  if (ioctl(slave.get(), TIOCSCTTY, 0) != 0) {
    return ErrnoError(errno, "set controlling terminal");
  }
  for (int i = 0; i < 3; ++i) {
    if (dup2(slave.get(), i) < 0) {
      return ErrnoError(errno, "dup2 terminal");
    }
  }
  return absl::OkStatus();
}

}  // namespace berth::oci
