#include "ctl/rpc/connection.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "runtime/ttrpc/socket.h"

namespace berth::http2 {
namespace {

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

absl::StatusOr<UniqueFd> ConnectBlocking(const std::string& socket_path) {
  ASSIGN_OR_RETURN(UniqueFd fd, ttrpc::ConnectUnix(socket_path));
  int flags = fcntl(fd.get(), F_GETFL);
  if (flags < 0 || fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) < 0) {
    return ErrnoError(errno, "fcntl", socket_path);
  }
  return fd;
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Dial(const std::string& socket_path) {
  // Blocking: the reader thread sleeps in read(2), writers in write(2).
  ASSIGN_OR_RETURN(UniqueFd fd, ConnectBlocking(socket_path));
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
  // Stream ids must reach the wire in order (RFC 9113 5.1.1): an id is taken and its HEADERS
  // written under write_mu_, while mu_ (which the reader needs) is held only to take it.
  std::lock_guard<std::mutex> writing(write_mu_);
  uint32_t id = 0;
  std::string frames;  // HEADERS, then CONTINUATION for what does not fit one frame
  DataFrames first;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failed_.ok()) return failed_;
    if (next_id_ > goaway_last_id_ || next_id_ > 0x7fffffff) {
      return absl::UnavailableError("the daemon is closing the connection");
    }
    id = next_id_;
    next_id_ += 2;
    StreamState& state = streams_[id];
    state.send_window = peer_initial_window_;
    size_t offset = 0;
    do {
      const size_t n = std::min<size_t>(block.size() - offset, peer_max_frame_);
      uint8_t flags = offset + n == block.size() ? kEndHeaders : 0;
      if (offset == 0 && end_stream && data.empty()) flags |= kEndStream;
      AppendFrame(frames, offset == 0 ? kHeaders : kContinuation, flags, id,
                  std::string_view(block).substr(offset, n));
      offset += n;
    } while (offset < block.size());
    if (data.empty()) {
      state.local_closed = end_stream;
    } else {
      data = FrameData(state, id, data, end_stream, first);
    }
  }
  first.iov.insert(first.iov.begin(), iovec{frames.data(), frames.size()});
  absl::Status written = WriteVecLocked(first.iov);
  if (!written.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    streams_.erase(id);
    return written;
  }
  return id;
}

std::string_view Connection::FrameData(StreamState& state, uint32_t id, std::string_view data,
                                       bool end_stream, DataFrames& out) {
  out.headers.reserve(kMaxFramesPerWrite);  // iov points into it: no reallocation after this
  int64_t room = data.empty() ? 0 : std::min(send_window_, state.send_window);
  do {
    const size_t n = std::min<size_t>({data.size(), static_cast<size_t>(room), peer_max_frame_});
    const bool last = n == data.size() && end_stream;
    out.headers.push_back(EncodeFrameHeader(
        {static_cast<uint32_t>(n), kData, static_cast<uint8_t>(last ? kEndStream : 0), id}));
    out.iov.push_back({out.headers.back().data(), kFrameHeaderSize});
    if (n > 0) out.iov.push_back({const_cast<char*>(data.data()), n});
    data.remove_prefix(n);
    room -= static_cast<int64_t>(n);
    send_window_ -= static_cast<int64_t>(n);
    state.send_window -= static_cast<int64_t>(n);
    if (last) state.local_closed = true;
  } while (!data.empty() && room > 0 && out.headers.size() < kMaxFramesPerWrite);
  return data;
}

absl::Status Connection::Send(uint32_t id, std::string_view data, bool end_stream,
                              Deadline deadline) {
  do {
    DataFrames frames;
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
      data = FrameData(state, id, data, end_stream, frames);
    }
    RETURN_IF_ERROR(WriteVec(frames.iov));
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
  if (send) SendControl(kRstStream, id, code);
}

void Connection::Close(uint32_t id) {
  bool cancel = false;
  int64_t credit = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    // A call dropped before its answer is cancelled, so the daemon stops working on it.
    cancel = failed_.ok() && it->second.error.ok() && !it->second.remote_closed;
    // Bytes the call never took still count against the connection's window.
    conn_unacked_ += it->second.unacked + static_cast<int64_t>(it->second.data.size());
    streams_.erase(it);
    if (conn_unacked_ >= kConnectionWindow / 4) credit = std::exchange(conn_unacked_, 0);
  }
  if (cancel) SendControl(kRstStream, id, kCancel);
  if (credit > 0) SendWindowUpdate(0, credit);
}

void Connection::SendWindowUpdate(uint32_t id, int64_t increment) {
  SendControl(kWindowUpdate, id, static_cast<uint32_t>(increment));
}

void Connection::SendControl(uint8_t type, uint32_t id, uint32_t value) {
  std::string payload;
  AppendBe32(payload, value);
  std::string frame;
  AppendFrame(frame, type, 0, id, payload);
  (void)Write(frame);  // the reader sees a broken connection and fails the streams
}

absl::Status Connection::Write(const std::string& bytes) {
  return WriteVec({{const_cast<char*>(bytes.data()), bytes.size()}});
}

absl::Status Connection::WriteVec(std::vector<iovec> iov) {
  std::lock_guard<std::mutex> lock(write_mu_);
  return WriteVecLocked(std::move(iov));
}

absl::Status Connection::WriteVecLocked(std::vector<iovec> rest) {
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

}  // namespace berth::http2
