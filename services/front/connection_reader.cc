// The connection's reading side (connection.h): frames in, streams opened, request messages
// cut out and either answered here (fast methods) or handed to their ForwardedCall.

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "plugins/base/log.h"
#include "services/front/connection.h"
#include "services/front/forwarded_call.h"
#include "services/front/grpc_wire.h"

namespace berth::front {
namespace {

using http2::FrameHeader;

absl::Status ProtocolError(std::string_view what) {
  return absl::InternalError(absl::StrCat("http2: ", absl::string_view(what.data(), what.size())));
}

}  // namespace

absl::Status Connection::ReadPreface() {
  const std::string_view preface = http2::kClientPreface;
  while (in_.size() < preface.size()) {
    pollfd fd = {fd_.get(), POLLIN, 0};
    if (poll(&fd, 1, -1) < 0 && errno != EINTR) return absl::UnavailableError("poll");
    char buffer[64];
    ssize_t n = read(fd_.get(), buffer, preface.size() - in_.size());
    if (n == 0) return absl::UnavailableError("client went away before its preface");
    if (n < 0 && errno != EAGAIN && errno != EINTR) return absl::UnavailableError("read");
    if (n > 0) in_.append(buffer, static_cast<size_t>(n));
  }
  if (in_ != preface) return ProtocolError("not an HTTP/2 client preface");
  in_.assign(kReadChunk, '\0');  // the read buffer from now on: [in_pos_, in_end_) unparsed
  return absl::OkStatus();
}

bool Connection::ReadSome() {
  if (in_pos_ == in_end_) in_pos_ = in_end_ = 0;
  if (in_.size() - in_end_ < kReadChunk / 4) {  // make room: first by moving, then by growing
    std::memmove(in_.data(), in_.data() + in_pos_, in_end_ - in_pos_);
    in_end_ -= in_pos_;
    in_pos_ = 0;
    if (in_.size() - in_end_ < kReadChunk / 4) in_.resize(in_end_ + kReadChunk);
  }
  ssize_t n = read(fd_.get(), in_.data() + in_end_, in_.size() - in_end_);
  if (n > 0) in_end_ += static_cast<size_t>(n);
  return n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR));
}

absl::Status Connection::ReadFrames() {
  while (in_end_ - in_pos_ >= http2::kFrameHeaderSize) {
    char raw[http2::kFrameHeaderSize];
    in_.copy(raw, sizeof raw, in_pos_);
    const FrameHeader header = http2::ParseFrameHeader(raw);
    if (header.length > http2::kOurMaxFrame) return ProtocolError("frame larger than our SETTINGS allow");
    if (in_end_ - in_pos_ < http2::kFrameHeaderSize + header.length) break;
    const std::string_view payload(in_.data() + in_pos_ + http2::kFrameHeaderSize, header.length);
    in_pos_ += http2::kFrameHeaderSize + header.length;
    if (!block_.empty() || block_stream_ != 0) {
      if (header.type != http2::kContinuation || header.stream != block_stream_) {
        return ProtocolError("header block interrupted");
      }
    }
    absl::Status status = OnFrame(header, payload);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status Connection::OnFrame(const FrameHeader& header, std::string_view payload) {
  switch (header.type) {
    case http2::kData:
      return OnData(header, payload);
    case http2::kHeaders:
      return OnHeaders(header, payload);
    case http2::kContinuation:
      return OnContinuation(header, payload);
    case http2::kRstStream:
      return OnRstStream(header.stream, payload);
    case http2::kSettings:
      if (header.stream != 0) return ProtocolError("SETTINGS on a stream");
      return OnSettings(header.flags, payload);
    case http2::kPing:
      if (header.stream != 0 || payload.size() != 8) return ProtocolError("malformed PING");
      if (!(header.flags & http2::kAck)) QueueFrame(http2::kPing, http2::kAck, 0, payload);
      return absl::OkStatus();
    case http2::kGoaway:
      going_away_ = true;  // the client opens no more streams; the open ones finish
      return absl::OkStatus();
    case http2::kWindowUpdate:
      return OnWindowUpdate(header.stream, payload);
    case http2::kPushPromise:
      return ProtocolError("PUSH_PROMISE from a client");
    default:  // PRIORITY and unknown types carry nothing we use
      return absl::OkStatus();
  }
}

absl::Status Connection::OnHeaders(const FrameHeader& header, std::string_view payload) {
  if (header.stream == 0) return ProtocolError("HEADERS on stream 0");
  if (!http2::StripPadding(header.flags, payload)) return ProtocolError("HEADERS padding");
  if (header.flags & http2::kPriorityFlag) {
    if (payload.size() < 5) return ProtocolError("HEADERS priority");
    payload.remove_prefix(5);
  }
  block_.assign(payload);
  block_stream_ = header.stream;
  block_end_stream_ = (header.flags & http2::kEndStream) != 0;
  if (!(header.flags & http2::kEndHeaders)) return absl::OkStatus();
  return OnHeaderBlock(header.stream, block_end_stream_);
}

absl::Status Connection::OnContinuation(const FrameHeader& header, std::string_view payload) {
  if (block_stream_ == 0 || header.stream != block_stream_) {
    return ProtocolError("CONTINUATION without HEADERS");
  }
  block_.append(payload);
  if (!(header.flags & http2::kEndHeaders)) return absl::OkStatus();
  return OnHeaderBlock(header.stream, block_end_stream_);
}

absl::Status Connection::OnHeaderBlock(uint32_t id, bool end_stream) {
  std::vector<http2::Header> fields;
  absl::Status decoded = decoder_.Decode(block_, fields);
  block_.clear();
  block_stream_ = 0;
  if (!decoded.ok()) return decoded;
  auto it = streams_.find(id);
  if (it != streams_.end()) {  // trailers: gRPC requests have none, but they end the stream
    if (!end_stream) return ProtocolError("second HEADERS without END_STREAM");
    it->second.remote_closed = true;
    TakeMessages(id, it->second, true);
    return absl::OkStatus();
  }
  if (id <= last_stream_ || id % 2 == 0) return ProtocolError("stream id not new and odd");
  return OpenStream(id, std::move(fields), end_stream);
}

absl::Status Connection::OpenStream(uint32_t id, std::vector<http2::Header> headers,
                                    bool end_stream) {
  last_stream_ = id;
  if (going_away_ || closed_ || streams_.size() >= kMaxStreams) {
    Reset(id, http2::kRefusedStream);
    return absl::OkStatus();
  }
  const std::string* path = http2::FindHeader(headers, ":path");
  if (path == nullptr || path->empty()) {
    Reset(id, http2::kProtocolError);
    return absl::OkStatus();
  }
  Stream& stream = streams_[id];
  stream.send_window = peer_initial_window_;
  if (auto fast = options_.fast->find(*path); fast != options_.fast->end()) {
    stream.fast = &fast->second;
    stream.path = *path;
    stream.headers = std::move(headers);
  } else {
    stream.call = ForwardedCall::Create(shared_from_this(), id, *path, headers,
                                        options_.forwarded);
    actions_.push_back({CallAction::kStart, stream.call, {}});
  }
  if (end_stream) {
    stream.remote_closed = true;
    TakeMessages(id, stream, true);
  }
  return absl::OkStatus();
}

absl::Status Connection::OnData(const FrameHeader& header, std::string_view payload) {
  if (header.stream == 0) return ProtocolError("DATA on stream 0");
  conn_unacked_ += header.length;  // padding included: it counts against the window too
  if (conn_unacked_ >= http2::kConnectionWindow / 4) {
    QueueFrame(http2::kWindowUpdate, 0, 0, http2::Be32(static_cast<uint32_t>(conn_unacked_)));
    conn_unacked_ = 0;
  }
  if (!http2::StripPadding(header.flags, payload)) return ProtocolError("DATA padding");
  auto it = streams_.find(header.stream);
  if (it == streams_.end()) return absl::OkStatus();  // a stream we ended or reset
  Stream& stream = it->second;
  if (stream.remote_closed) return ProtocolError("DATA after END_STREAM");
  stream.in.append(payload);
  stream.unacked += header.length;
  const bool end = (header.flags & http2::kEndStream) != 0;
  if (end) stream.remote_closed = true;
  TakeMessages(header.stream, stream, end);
  return absl::OkStatus();
}

void Connection::TakeMessages(uint32_t id, Stream& stream, bool end) {
  size_t at = 0;
  grpc::Status error;
  while (stream.in.size() - at >= 5) {
    const MessagePrefix prefix = ReadMessagePrefix(stream.in.data() + at);
    if (prefix.compressed) {
      error = grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                           "grpc: compressed messages are not supported");
      break;
    }
    if (prefix.length > options_.max_recv_message_size) {
      error = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                           absl::StrCat("grpc: received message larger than max (",
                                        prefix.length, " vs. ", options_.max_recv_message_size,
                                        ")"));
      break;
    }
    if (stream.in.size() - at - 5 < prefix.length) break;
    std::string_view message(stream.in.data() + at + 5, prefix.length);
    at += 5 + prefix.length;
    if (stream.fast != nullptr) {
      if (stream.messages++ == 0) stream.message.assign(message);
    } else {
      ++stream.waiting;
      grpc::Slice slice(message.data(), message.size());
      actions_.push_back({CallAction::kWrite, stream.call, grpc::ByteBuffer(&slice, 1)});
    }
  }
  stream.in.erase(0, at);
  if (error.ok() && end && !stream.in.empty()) {
    error = grpc::Status(grpc::StatusCode::INTERNAL, "grpc: request ends inside a message");
  }
  if (!error.ok()) {
    AbandonCall(stream);
    EndStream(id, stream, error, {});
    return;
  }
  if (stream.fast != nullptr) {
    if (end) fast_ready_.push_back(id);  // answered once mu_ is released
    return;
  }
  if (end) actions_.push_back({CallAction::kCloseWrites, stream.call, {}});
  Credit(id, stream);
}

// The handlers run without mu_: a listing may read for milliseconds, and gRPC's threads
// answering this connection's forwarded calls must not wait for it. Only this thread erases a
// fast stream, so each is still there afterwards (unless the connection closed meanwhile).
void Connection::AnswerFastCalls() {
  for (uint32_t id : std::exchange(fast_ready_, {})) {
    const services::FastHandler* handler;
    std::vector<http2::Header> headers;
    std::string path, message;
    int messages;
    {
      absl::MutexLock lock(&mu_);
      auto it = streams_.find(id);
      if (it == streams_.end()) continue;
      Stream& stream = it->second;
      handler = stream.fast;
      headers = std::move(stream.headers);
      path = std::move(stream.path);
      message = std::move(stream.message);
      messages = stream.messages;
    }
    grpc::Status status;
    services::FramedReply reply;
    if (messages != 1) {
      status = grpc::Status(grpc::StatusCode::INTERNAL,
                            absl::StrCat("grpc: expected one request message, got ", messages));
    } else {
      const bool timed = log::GetLevel() <= log::DEBUG;
      const absl::Time start = timed ? absl::Now() : absl::InfinitePast();
      options_.calls->Add(1);
      status = (*handler)(services::RequestHeaders(headers), message, reply);
      options_.calls->Add(-1);
      if (timed) BERTH_LOG(DEBUG) << "rpc " << path << " " << (absl::Now() - start);
    }
    if (status.ok() && reply.largest_message > options_.max_send_message_size) {
      status = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            absl::StrCat("grpc: trying to send message larger than max (",
                                         reply.largest_message, " vs. ",
                                         options_.max_send_message_size, ")"));
    }
    absl::MutexLock lock(&mu_);
    auto it = streams_.find(id);
    if (closed_ || it == streams_.end()) continue;
    Stream& stream = it->second;
    if (status.ok() && !reply.pieces.empty()) {
      SendHeadersIfNeeded(id, stream);
      for (std::string& piece : reply.pieces) stream.out.push_back(std::move(piece));
    }
    EndStream(id, stream, status, {});
    FlushAndRefill();
  }
}

void Connection::RunCallActions() {
  std::vector<CallAction> actions = std::move(actions_);
  actions_.clear();
  for (CallAction& action : actions) {
    switch (action.kind) {
      case CallAction::kStart:
        action.call->Start(*options_.stub);
        break;
      case CallAction::kWrite:
        action.call->Write(std::move(action.message));
        break;
      case CallAction::kCloseWrites:
        action.call->CloseWrites();
        break;
      case CallAction::kResumeRead:
        action.call->ResumeRead();
        break;
      case CallAction::kCancel:
        action.call->Cancel();
        break;
    }
  }
}

absl::Status Connection::OnRstStream(uint32_t id, std::string_view payload) {
  if (id == 0 || payload.size() != 4) return ProtocolError("malformed RST_STREAM");
  auto it = streams_.find(id);
  if (it == streams_.end()) return absl::OkStatus();
  AbandonCall(it->second);
  streams_.erase(it);
  return absl::OkStatus();
}

absl::Status Connection::OnSettings(uint8_t flags, std::string_view payload) {
  if (flags & http2::kAck) return absl::OkStatus();
  if (payload.size() % 6 != 0) return ProtocolError("SETTINGS length");
  for (size_t at = 0; at < payload.size(); at += 6) {
    const uint16_t id = http2::ReadBe16(payload.data() + at);
    const uint32_t value = http2::ReadBe32(payload.data() + at + 2);
    if (id == http2::kInitialWindowSize) {
      if (value > http2::kMaxWindow) return ProtocolError("initial window above 2^31-1");
      const int64_t delta = static_cast<int64_t>(value) - peer_initial_window_;
      peer_initial_window_ = value;
      for (auto& [stream_id, stream] : streams_) stream.send_window += delta;
    } else if (id == http2::kMaxFrameSize) {
      if (value < http2::kDefaultMaxFrameSize || value > (1u << 24) - 1) {
        return ProtocolError("SETTINGS_MAX_FRAME_SIZE out of range");
      }
      peer_max_frame_ = value;
    }
  }
  QueueFrame(http2::kSettings, http2::kAck, 0, "");
  PumpAll();
  return absl::OkStatus();
}

absl::Status Connection::OnWindowUpdate(uint32_t id, std::string_view payload) {
  if (payload.size() != 4) return ProtocolError("malformed WINDOW_UPDATE");
  const uint32_t increment = http2::ReadBe32(payload.data()) & 0x7fffffff;
  if (increment == 0) return ProtocolError("WINDOW_UPDATE of 0");
  if (id == 0) {
    send_window_ += increment;
    if (send_window_ > http2::kMaxWindow) return ProtocolError("connection window above 2^31-1");
  } else if (auto it = streams_.find(id); it != streams_.end()) {
    it->second.send_window += increment;
    if (it->second.send_window > http2::kMaxWindow) {
      return ProtocolError("stream window above 2^31-1");
    }
  }
  PumpAll();
  return absl::OkStatus();
}

}  // namespace berth::front
