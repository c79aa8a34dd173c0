#include "runtime/oci/sync.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "plugins/base/status_util.h"

namespace berth::oci::sync {
namespace {

// A packet the peer queued before it closed, without blocking, or type 0. A peer that closes
// with our packets unread sets ECONNRESET on this socket, which the next recv reports once
// (and clears) before it hands out the packets still queued: so ask again after it.
Message ReceivePending(int fd) {
  char buf[65536];
  for (int attempt = 0; attempt < 2; ++attempt) {
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) return Message{buf[0], std::string(buf + 1, static_cast<size_t>(n - 1))};
    if (n == 0 || (errno != ECONNRESET && errno != EINTR)) break;
  }
  return Message{};
}

}  // namespace

absl::Status Send(int fd, char type, absl::string_view payload) {
  iovec iov[2] = {{&type, 1}, {const_cast<char*>(payload.data()), payload.size()}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = payload.empty() ? 1 : 2;
  while (sendmsg(fd, &msg, MSG_NOSIGNAL) < 0) {
    if (errno == EINTR) continue;
    int error = errno;
    if (error == EPIPE || error == ECONNRESET) {
      // The child is gone, and it may have said why before it left (a failed mount, say):
      // its kError packet is still queued here. That message, not EPIPE, is the error.
      Message pending = ReceivePending(fd);
      if (pending.type == kError) return absl::FailedPreconditionError(pending.payload);
    }
    return ErrnoError(error, "send sync message");
  }
  return absl::OkStatus();
}

absl::StatusOr<Message> Receive(int fd) {
  char buf[65536];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) < 0) {
    if (errno != EINTR) {
      if (errno == ECONNRESET) return ReceivePending(fd);  // what it sent before closing
      return ErrnoError(errno, "receive sync message");
    }
  }
  Message m;
  if (n > 0) {
    m.type = buf[0];
    m.payload.assign(buf + 1, static_cast<size_t>(n - 1));
  }
  return m;
}

absl::StatusOr<std::string> Expect(int fd, char expected, absl::string_view eof_message) {
  absl::StatusOr<Message> m = Receive(fd);
  if (!m.ok()) return m.status();
  if (m->type == expected) return std::move(m->payload);
  if (m->type == kError) return absl::FailedPreconditionError(m->payload);
  if (m->type == 0) return absl::InternalError(std::string(eof_message));
  return absl::InternalError(absl::StrCat("sync: unexpected message `", std::string(1, m->type), "`"));
}

}  // namespace berth::oci::sync
