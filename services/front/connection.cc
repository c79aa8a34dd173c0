#include "services/front/connection.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "plugins/base/log.h"
#include "services/front/forwarded_call.h"
#include "services/front/grpc_wire.h"

namespace berth::front {

Connection::Connection(UniqueFd fd, const ConnectionOptions& options)
    : fd_(std::move(fd)), wake_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), options_(options) {
  fcntl(fd_.get(), F_SETFL, fcntl(fd_.get(), F_GETFL) | O_NONBLOCK);
}

Connection::~Connection() = default;

void Connection::Serve() {
  serving_thread_ = std::this_thread::get_id();
  {
    absl::MutexLock lock(&mu_);
    std::string settings;
    http2::AppendSetting(settings, http2::kMaxConcurrentStreams, kMaxStreams);
    http2::AppendSetting(settings, http2::kInitialWindowSize, http2::kStreamWindow);
    http2::AppendSetting(settings, http2::kMaxFrameSize, http2::kOurMaxFrame);
    QueueFrame(http2::kSettings, 0, 0, settings);
    QueueFrame(http2::kWindowUpdate, 0, 0, http2::Be32(http2::kConnectionWindow - http2::kDefaultWindow));
    Flush();
  }
  absl::Status status = ReadPreface();
  while (status.ok()) {
    pollfd fds[2] = {{fd_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    {
      absl::MutexLock lock(&mu_);
      if (closed_) break;
      if (out_pos_ < out_.size()) fds[0].events |= POLLOUT;
    }
    if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[1].revents & POLLIN) {
      uint64_t count;
      (void)!read(wake_.get(), &count, sizeof count);
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!ReadSome()) break;
    }
    {
      absl::MutexLock lock(&mu_);
      status = ReadFrames();
      if (!status.ok()) Fail(status, http2::kProtocolError);
      FlushAndRefill();
    }
    AnswerFastCalls();
    RunCallActions();
  }
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    for (auto& [id, stream] : streams_) AbandonCall(stream);
    streams_.clear();
  }
  RunCallActions();
  shutdown(fd_.get(), SHUT_RDWR);
}

void Connection::Close() {
  absl::MutexLock lock(&mu_);
  if (closed_) return;
  QueueFrame(http2::kGoaway, 0, 0, http2::Be32(last_stream_) + http2::Be32(http2::kNoError));
  Flush();
  closed_ = true;
  shutdown(fd_.get(), SHUT_RDWR);  // wakes the poll
}

// --- answering

void Connection::SendHeaders(uint32_t id, const std::vector<http2::Header>& metadata) {
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(id);
  if (closed_ || it == streams_.end() || it->second.headers_sent) return;
  it->second.headers_sent = true;
  QueueFrame(http2::kHeaders, http2::kEndHeaders, id, AnswerHeadersBlock(metadata));
  Flush();
}

bool Connection::SendMessage(uint32_t id, const grpc::ByteBuffer& message) {
  std::vector<grpc::Slice> slices;
  (void)message.Dump(&slices);
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(id);
  if (closed_ || it == streams_.end()) return true;  // nobody to tell; the call is cancelled
  Stream& stream = it->second;
  SendHeadersIfNeeded(id, stream);
  std::string& piece = stream.out.emplace_back(services::kGrpcPrefixSize, '\0');
  services::WriteGrpcPrefix(piece.data(), message.Length());
  piece.reserve(services::kGrpcPrefixSize + message.Length());
  for (const grpc::Slice& slice : slices) {
    piece.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  const bool sent = Pump(id, stream);
  if (!sent) stream.read_paused = true;
  Flush();
  return sent;
}

void Connection::Finish(uint32_t id, const grpc::Status& status,
                        std::vector<http2::Header> trailing) {
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(id);
  if (closed_ || it == streams_.end() || it->second.ending) return;
  EndStream(id, it->second, status, trailing);
  Flush();
}

void Connection::MessageTaken(uint32_t id) {
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(id);
  if (closed_ || it == streams_.end()) return;
  --it->second.waiting;
  Credit(id, it->second);
  Flush();
}

void Connection::CallDone(uint32_t id) {
  absl::MutexLock lock(&mu_);
  if (auto it = streams_.find(id); it != streams_.end()) it->second.call = nullptr;
}

void Connection::SendHeadersIfNeeded(uint32_t id, Stream& stream) {
  if (stream.headers_sent) return;
  stream.headers_sent = true;
  QueueFrame(http2::kHeaders, http2::kEndHeaders, id, AnswerHeadersBlock());
}

bool Connection::Pump(uint32_t id, Stream& stream) {
  while (!stream.out.empty()) {
    if (out_.size() - out_pos_ >= kOutputHighWater) {  // the socket first, then more
      refill_ = true;
      return false;
    }
    const std::string& piece = stream.out.front();
    const int64_t room = std::min<int64_t>({stream.send_window, send_window_, peer_max_frame_});
    if (room <= 0) return false;
    const size_t n = std::min<size_t>(piece.size() - stream.out_pos, room);
    http2::AppendFrameHeader(out_, {.length = static_cast<uint32_t>(n), .type = http2::kData,
                                    .flags = 0, .stream = id});
    out_.append(piece, stream.out_pos, n);
    stream.out_pos += n;
    stream.send_window -= static_cast<int64_t>(n);
    send_window_ -= static_cast<int64_t>(n);
    if (stream.out_pos == piece.size()) {
      stream.out.pop_front();
      stream.out_pos = 0;
    }
  }
  if (!stream.ending) return true;
  QueueFrame(http2::kHeaders, http2::kEndHeaders | http2::kEndStream, id, stream.trailers);
  // The answer is complete; a client still sending is told to stop (as gRPC servers do).
  if (!stream.remote_closed) QueueFrame(http2::kRstStream, 0, id, http2::Be32(http2::kNoError));
  streams_.erase(id);
  return true;
}

bool Connection::PumpAll() {
  refill_ = false;
  const size_t queued = out_.size();
  for (auto it = streams_.begin(); it != streams_.end();) {
    const uint32_t id = it->first;
    Stream& stream = it->second;
    ++it;  // Pump may erase the stream
    if (stream.out.empty() && !stream.ending) continue;
    const bool paused = std::exchange(stream.read_paused, false);
    std::shared_ptr<ForwardedCall> call = stream.call;
    if (Pump(id, stream)) {
      if (paused && call != nullptr) actions_.push_back({CallAction::kResumeRead, call, {}});
    } else if (auto left = streams_.find(id); left != streams_.end()) {
      left->second.read_paused = paused;
    }
  }
  return out_.size() != queued;
}

void Connection::FlushAndRefill() {
  for (;;) {
    Flush();
    if (closed_ || out_pos_ < out_.size() || !PumpAll()) return;
  }
}

void Connection::EndStream(uint32_t id, Stream& stream, const grpc::Status& status,
                           const std::vector<http2::Header>& trailing) {
  stream.ending = true;
  stream.trailers = TrailersBlock(status, trailing, !stream.headers_sent);
  stream.headers_sent = true;
  if (!status.ok()) {  // an error drops what was not sent of the answer
    stream.out.clear();
    stream.out_pos = 0;
  }
  Pump(id, stream);
}

void Connection::Reset(uint32_t id, uint32_t code) {
  QueueFrame(http2::kRstStream, 0, id, http2::Be32(code));
}

void Connection::Credit(uint32_t id, Stream& stream) {
  if (stream.waiting > 0 || stream.remote_closed) return;
  if (stream.unacked < http2::kStreamWindow / 4) return;
  QueueFrame(http2::kWindowUpdate, 0, id, http2::Be32(static_cast<uint32_t>(stream.unacked)));
  stream.unacked = 0;
}

void Connection::AbandonCall(Stream& stream) {
  if (stream.call == nullptr) return;
  actions_.push_back({CallAction::kCancel, stream.call, {}});
  if (std::exchange(stream.read_paused, false)) {
    actions_.push_back({CallAction::kResumeRead, stream.call, {}});
  }
}

void Connection::QueueFrame(uint8_t type, uint8_t flags, uint32_t id, std::string_view payload) {
  http2::AppendFrame(out_, type, flags, id, payload);
}

void Connection::Flush() {
  if (closed_) return;
  while (out_pos_ < out_.size()) {
    ssize_t n = send(fd_.get(), out_.data() + out_pos_, out_.size() - out_pos_, MSG_NOSIGNAL);
    if (n > 0) {
      out_pos_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    Fail(absl::UnavailableError("write to client failed"), http2::kInternalError);
    return;
  }
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
    // A Pump on another thread stopped at the high-water mark: the serving thread goes on.
    if (refill_ && std::this_thread::get_id() != serving_thread_) WakeServingThread();
    return;
  }
  if (out_.size() - out_pos_ > kMaxUnwritten) {
    Fail(absl::ResourceExhaustedError("client does not read its answers"), http2::kInternalError);
    return;
  }
  if (out_pos_ > out_.size() / 2) {
    out_.erase(0, out_pos_);
    out_pos_ = 0;
  }
  // The serving thread polls for room itself; any other must wake it to.
  if (std::this_thread::get_id() != serving_thread_) {
    WakeServingThread();
  }
}

void Connection::WakeServingThread() {
  const uint64_t one = 1;
  (void)!write(wake_.get(), &one, sizeof one);
}

void Connection::Fail(const absl::Status& why, uint32_t code) {
  if (closed_) return;
  BERTH_LOG(DEBUG) << "client connection closed: " << why;
  QueueFrame(http2::kGoaway, 0, 0, http2::Be32(last_stream_) + http2::Be32(code));
  (void)send(fd_.get(), out_.data() + out_pos_, out_.size() - out_pos_,
             MSG_NOSIGNAL | MSG_DONTWAIT);
  closed_ = true;
  shutdown(fd_.get(), SHUT_RDWR);
}

}  // namespace berth::front
