#include "runtime/ttrpc/channel.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"

namespace berth::ttrpc {
namespace {
constexpr size_t kReadChunk = 64 * 1024;
constexpr int kMaxReadsPerEvent = 16;  // Let other fds have a turn.
}  // namespace

absl::StatusOr<std::shared_ptr<Channel>> Channel::Create(EventLoop* loop, UniqueFd fd,
                                                         Handlers handlers) {
  std::shared_ptr<Channel> channel(new Channel(loop, std::move(fd), std::move(handlers)));
  Channel* raw = channel.get();
  RETURN_IF_ERROR(loop->Add(raw->fd(), EPOLLIN | EPOLLRDHUP,
                            [raw](uint32_t events) { raw->OnEvents(events); }));
  return channel;
}

Channel::Channel(EventLoop* loop, UniqueFd fd, Handlers handlers)
    : loop_(loop), fd_(std::move(fd)), handlers_(std::move(handlers)) {}

Channel::~Channel() {
  if (!closed_ && fd_) {
    loop_->Remove(fd_.get());
  }
}

absl::Status Channel::Send(uint32_t stream_id, MessageType type, uint8_t flags,
                           absl::string_view payload) {
  if (closed_ || close_after_flush_) {
    return absl::UnavailableError("ttrpc: connection closed");
  }
  ASSIGN_OR_RETURN(std::string frame, EncodeFrame(stream_id, type, flags, payload));
  if (out_offset_ == out_.size()) {
    out_ = std::move(frame);
    out_offset_ = 0;
  } else {
    out_.append(frame);
  }
  Flush();
  return absl::OkStatus();
}

void Channel::Close(const absl::Status& reason) {
  if (closed_) {
    return;
  }
  closed_ = true;
  loop_->Remove(fd_.get());
  fd_.Reset();
  out_.clear();
  out_offset_ = 0;
  Handlers handlers = std::move(handlers_);  // Drop references the handlers hold.
  handlers_ = {};
  if (handlers.on_close) {
    handlers.on_close(reason);
  }
}

void Channel::CloseAfterFlush(const absl::Status& reason) {
  if (closed_) {
    return;
  }
  close_after_flush_ = true;
  close_reason_ = reason;
  reading_ = false;
  if (out_offset_ == out_.size()) {
    Close(reason);
  } else {
    UpdateInterest();
  }
}

void Channel::OnEvents(uint32_t events) {
  std::shared_ptr<Channel> self = shared_from_this();  // Handlers may drop the last owner.
  if (events & EPOLLOUT) {
    Flush();
  }
  if (!closed_ && reading_ && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
    ReadAvailable();
  } else if (!closed_ && (events & (EPOLLHUP | EPOLLERR))) {
    Close(absl::UnavailableError("ttrpc: connection closed"));
  }
}

void Channel::ReadAvailable() {
  char buffer[kReadChunk];
  for (int i = 0; i < kMaxReadsPerEvent && !closed_ && reading_; ++i) {
    ssize_t n = read(fd_.get(), buffer, sizeof(buffer));
    if (n > 0) {
      reader_.Append(absl::string_view(buffer, static_cast<size_t>(n)));
      DeliverFrames();
      if (static_cast<size_t>(n) < sizeof(buffer)) {
        return;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    }
    absl::Status reason = n == 0 ? absl::UnavailableError("ttrpc: connection closed by peer")
                                 : absl::UnavailableError(ErrnoError(errno, "read").message());
    Close(reason);
    return;
  }
}

void Channel::DeliverFrames() {
  while (!closed_ && reading_) {
    absl::StatusOr<std::optional<Frame>> next = reader_.Next();
    if (!next.ok()) {
      if (handlers_.on_oversized) {
        handlers_.on_oversized(reader_.oversized_header(), next.status());
      }
      CloseAfterFlush(next.status());
      return;
    }
    if (!next->has_value()) {
      return;
    }
    if (handlers_.on_frame) {
      handlers_.on_frame(std::move(**next));
    }
  }
}

void Channel::Flush() {
  while (!closed_ && out_offset_ < out_.size()) {
    ssize_t n = send(fd_.get(), out_.data() + out_offset_, out_.size() - out_offset_, MSG_NOSIGNAL);
    if (n >= 0) {
      out_offset_ += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    }
    Close(absl::UnavailableError(ErrnoError(errno, "write").message()));
    return;
  }
  if (closed_) {
    return;
  }
  if (out_offset_ == out_.size()) {
    out_.clear();
    out_offset_ = 0;
    if (close_after_flush_) {
      Close(close_reason_);
      return;
    }
  }
  UpdateInterest();
}

void Channel::UpdateInterest() {
  bool want_write = out_offset_ < out_.size();
  uint32_t events =
      (reading_ ? uint32_t{EPOLLIN | EPOLLRDHUP} : 0u) | (want_write ? uint32_t{EPOLLOUT} : 0u);
  if (want_write != want_write_ || !reading_) {
    want_write_ = want_write;
    (void)loop_->Modify(fd_.get(), events);
  }
}

}  // namespace berth::ttrpc
