#include "ctl/rpc/connection.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "runtime/ttrpc/socket.h"

namespace berth::ctl::http2 {
namespace {

void AppendSetting(std::string& out, uint16_t id, uint32_t value) {
  out += static_cast<char>(id >> 8);
  out += static_cast<char>(id);
  AppendBe32(out, value);
}

std::string Preface() {
  std::string settings;
  AppendSetting(settings, kEnablePush, 0);
  AppendSetting(settings, kInitialWindowSize, kStreamWindow);
  AppendSetting(settings, kMaxFrameSize, kOurMaxFrame);
  // What HpackDecoder enforces (decoder_ keeps its default cap).
  AppendSetting(settings, kMaxHeaderListSize, kDefaultMaxHeaderListSize);
  std::string out(kClientPreface);
  AppendFrame(out, kSettings, 0, 0, settings);
  std::string increment;
  AppendBe32(increment, kConnectionWindow - kDefaultWindow);
  AppendFrame(out, kWindowUpdate, 0, 0, increment);
  return out;
}

// Nothing more may be sent on the stream: it failed, we ended our side, or the daemon has
// answered in full.
bool Ended(const StreamState& state) {
  return !state.error.ok() || state.local_closed || state.remote_closed;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Connection>> Connection::Dial(const std::string& socket_path) {
  ASSIGN_OR_RETURN(UniqueFd fd, ttrpc::ConnectUnix(socket_path));
  // Blocking from here: the reader thread sleeps in read(2), writers in write(2).
  int flags = fcntl(fd.get(), F_GETFL);
  if (flags < 0 || fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) < 0) {
    return ErrnoError(errno, "fcntl", socket_path);
  }
  std::unique_ptr<Connection> connection(new Connection(std::move(fd)));
  RETURN_IF_ERROR(connection->Write(Preface()));
  connection->reader_ = std::thread([c = connection.get()] { c->ReadLoop(); });
  return connection;
}

Connection::Connection(UniqueFd fd) : fd_(std::move(fd)), decoder_(4096) {}

Connection::~Connection() {
  shutdown(fd_.get(), SHUT_RDWR);  // wakes the reader
  if (reader_.joinable()) reader_.join();
}

absl::StatusOr<uint32_t> Connection::Open(const std::vector<Header>& headers,
                                          std::string_view& data, bool end_stream) {
  std::string block;
  HpackEncode(headers, block);
  std::lock_guard<std::mutex> lock(mu_);
  if (!failed_.ok()) return failed_;
  if (next_id_ > goaway_last_id_ || next_id_ > 0x7fffffff) {
    return absl::UnavailableError("the daemon is closing the connection");
  }
  const uint32_t id = next_id_;
  next_id_ += 2;
  StreamState& state = streams_[id];
  state.send_window = peer_initial_window_;
  // HEADERS, then CONTINUATION for what does not fit one frame.
  std::string frames;
  size_t offset = 0;
  do {
    const size_t n = std::min<size_t>(block.size() - offset, peer_max_frame_);
    uint8_t flags = offset + n == block.size() ? kEndHeaders : 0;
    if (offset == 0 && end_stream && data.empty()) flags |= kEndStream;
    AppendFrame(frames, offset == 0 ? kHeaders : kContinuation, flags, id,
                std::string_view(block).substr(offset, n));
    offset += n;
  } while (offset < block.size());
  if (end_stream && data.empty()) state.local_closed = true;
  std::string_view rest = FrameData(state, id, data, end_stream, frames);
  // Written under mu_ so streams go out in the order of their ids (RFC 9113 5.1.1).
  absl::Status written = Write(frames);
  if (!written.ok()) {
    streams_.erase(id);
    return written;
  }
  data = rest;
  return id;
}

std::string_view Connection::FrameData(StreamState& state, uint32_t id, std::string_view data,
                                       bool end_stream, std::string& frames) {
  int64_t room = std::min(send_window_, state.send_window);
  while (!data.empty() && room > 0) {
    const size_t n =
        std::min<size_t>({data.size(), static_cast<size_t>(room), peer_max_frame_});
    const bool last = n == data.size() && end_stream;
    AppendFrame(frames, kData, last ? kEndStream : 0, id, data.substr(0, n));
    data.remove_prefix(n);
    room -= static_cast<int64_t>(n);
    send_window_ -= static_cast<int64_t>(n);
    state.send_window -= static_cast<int64_t>(n);
    if (last) state.local_closed = true;
  }
  return data;
}

absl::Status Connection::Send(uint32_t id, std::string_view data, bool end_stream,
                              Deadline deadline) {
  // Many frames per writev: a 16 KiB peer frame limit must not mean a syscall per 16 KiB.
  constexpr size_t kMaxFramesPerWrite = 256;
  do {
    std::vector<std::string> headers;
    std::vector<iovec> iov;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Credit, or a reason to stop: a daemon that has answered (or reset the stream) will
      // grant no more, and its status is what Finish reports.
      auto credit = [&] {
        auto it = streams_.find(id);
        if (it == streams_.end() || Ended(it->second)) return true;
        return data.empty() || std::min(send_window_, it->second.send_window) > 0;
      };
      if (deadline.has_value()) {
        if (!changed_.wait_until(lock, *deadline, credit)) {
          return absl::DeadlineExceededError("deadline exceeded");
        }
      } else {
        changed_.wait(lock, credit);
      }
      auto it = streams_.find(id);
      if (it == streams_.end()) return absl::CancelledError("the call is closed");
      StreamState& state = it->second;
      if (!state.error.ok()) return state.error;
      if (Ended(state)) return absl::FailedPreconditionError("the daemon ended the call");
      int64_t room = data.empty() ? 0 : std::min(send_window_, state.send_window);
      do {
        const size_t n = std::min<size_t>({data.size(), static_cast<size_t>(room),
                                           peer_max_frame_});
        const bool last = n == data.size() && end_stream;
        std::string header;
        AppendFrameHeader(header, {static_cast<uint32_t>(n), kData,
                                   static_cast<uint8_t>(last ? kEndStream : 0), id});
        headers.push_back(std::move(header));
        iov.push_back({nullptr, kFrameHeaderSize});
        iov.push_back({const_cast<char*>(data.data()), n});
        data.remove_prefix(n);
        room -= static_cast<int64_t>(n);
        send_window_ -= static_cast<int64_t>(n);
        state.send_window -= static_cast<int64_t>(n);
        if (last) state.local_closed = true;
      } while (!data.empty() && room > 0 && headers.size() < kMaxFramesPerWrite);
    }
    for (size_t i = 0; i < headers.size(); ++i) iov[2 * i].iov_base = headers[i].data();
    RETURN_IF_ERROR(WriteVec(iov.data(), static_cast<int>(iov.size())));
  } while (!data.empty());
  return absl::OkStatus();
}

void Connection::Take(uint32_t id, std::string& out) {
  int64_t stream_credit = 0, connection_credit = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    StreamState& state = it->second;
    const auto n = static_cast<int64_t>(state.data.size());
    if (out.empty()) {
      out.swap(state.data);
    } else {
      out += state.data;
      state.data.clear();
    }
    state.unacked += n;
    conn_unacked_ += n;
    if (!state.remote_closed && state.unacked >= kStreamWindow / 4) {
      stream_credit = std::exchange(state.unacked, 0);
    }
    if (conn_unacked_ >= kConnectionWindow / 4) connection_credit = std::exchange(conn_unacked_, 0);
  }
  if (stream_credit > 0) SendWindowUpdate(id, stream_credit);
  if (connection_credit > 0) SendWindowUpdate(0, connection_credit);
}

StreamState Connection::Snapshot(uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_.find(id);
  if (it == streams_.end()) {
    StreamState gone;
    gone.error = absl::CancelledError("the call is closed");
    return gone;
  }
  StreamState copy;
  copy.headers = it->second.headers;
  copy.trailers = it->second.trailers;
  copy.got_headers = it->second.got_headers;
  copy.remote_closed = it->second.remote_closed;
  copy.error = it->second.error;
  return copy;
}

void Connection::Reset(uint32_t id, uint32_t code, const absl::Status& why) {
  bool send = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    StreamState& state = it->second;
    if (state.error.ok()) state.error = why;
    send = failed_.ok() && !(state.remote_closed && state.local_closed);
    state.local_closed = true;
    changed_.notify_all();
  }
  if (!send) return;
  std::string payload;
  AppendBe32(payload, code);
  std::string frame;
  AppendFrame(frame, kRstStream, 0, id, payload);
  (void)Write(frame);  // a failed connection fails the stream anyway
}

void Connection::Close(uint32_t id) {
  StreamState snapshot = Snapshot(id);
  if (!snapshot.remote_closed && snapshot.error.ok()) {
    Reset(id, kCancel, absl::CancelledError("cancelled"));
  }
  int64_t credit = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    // Bytes the call never took still count against the connection's window.
    conn_unacked_ += it->second.unacked + static_cast<int64_t>(it->second.data.size());
    streams_.erase(it);
    if (conn_unacked_ >= kConnectionWindow / 4) credit = std::exchange(conn_unacked_, 0);
  }
  if (credit > 0) SendWindowUpdate(0, credit);
}

void Connection::SendWindowUpdate(uint32_t id, int64_t increment) {
  std::string payload;
  AppendBe32(payload, static_cast<uint32_t>(increment));
  std::string frame;
  AppendFrame(frame, kWindowUpdate, 0, id, payload);
  (void)Write(frame);  // the reader sees a broken connection and fails the streams
}

absl::Status Connection::Write(const std::string& bytes) {
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  return WriteVec(&iov, 1);
}

absl::Status Connection::WriteVec(const iovec* iov, int count) {
  std::lock_guard<std::mutex> lock(write_mu_);
  std::vector<iovec> rest(iov, iov + count);
  size_t first = 0;
  while (first < rest.size()) {
    msghdr message{};
    message.msg_iov = rest.data() + first;
    message.msg_iovlen = std::min<size_t>(rest.size() - first, 1024);
    ssize_t n = sendmsg(fd_.get(), &message, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      return absl::UnavailableError("the daemon closed the connection");
    }
    if (n < 0) return absl::UnavailableError(absl::StrCat("send to the daemon: ", strerror(errno)));
    auto left = static_cast<size_t>(n);
    while (first < rest.size() && left >= rest[first].iov_len) left -= rest[first++].iov_len;
    if (first < rest.size()) {
      rest[first].iov_base = static_cast<char*>(rest[first].iov_base) + left;
      rest[first].iov_len -= left;
    }
  }
  return absl::OkStatus();
}

}  // namespace berth::ctl::http2
