// Connection's reader thread: every frame the daemon sends goes through here.

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ctl/rpc/connection.h"
#include "plugins/base/status_macros.h"

namespace berth::http2 {
namespace {

// A frame we advertised we would not accept is the peer's error, as is anything malformed.
absl::Status ProtocolError(std::string_view what) {
  return absl::InternalError(absl::StrCat("HTTP/2 protocol error from the daemon: ", std::string(what)));
}

absl::Status Unpad(uint8_t flags, std::string_view& payload) {
  if (!StripPadding(flags, payload)) return ProtocolError("padding longer than the frame");
  return absl::OkStatus();
}

absl::Status ResetError(uint32_t code) {
  switch (code) {
    case kCancel:
      return absl::CancelledError("the daemon cancelled the call");
    case kRefusedStream:
      return absl::UnavailableError("the daemon refused the call");
    case kNoError:
      return absl::InternalError("the daemon ended the call early");
    default:
      return absl::InternalError(absl::StrCat("the daemon reset the call (HTTP/2 error ", code, ")"));
  }
}

}  // namespace

void Connection::ReadLoop() {
  absl::Status status;
  do {
    status = ReadFrame();
  } while (status.ok());
  FailAll(status);
}

void Connection::StreamError(StreamState& state, std::string_view what) {
  state.error = ProtocolError(what);
  state.remote_closed = true;  // nothing more from the daemon counts for this call
  changed_.notify_all();
}

void Connection::FailAll(const absl::Status& why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_.ok()) failed_ = why;
  for (auto& [id, state] : streams_) {
    if (state.error.ok() && !state.remote_closed) state.error = why;
  }
  changed_.notify_all();
}

absl::Status Connection::ReadFrame() {
  // Everything a frame needs, then the frame; reads are as large as the socket offers. The
  // buffer only grows (to the largest frame seen): no allocating or zeroing per read.
  auto fill = [this](size_t want) -> absl::Status {
    while (in_end_ - in_pos_ < want) {
      if (in_pos_ > 0) {
        std::memmove(in_.data(), in_.data() + in_pos_, in_end_ - in_pos_);
        in_end_ -= in_pos_;
        in_pos_ = 0;
      }
      if (in_.size() < std::max<size_t>(want, 65536)) in_.resize(std::max<size_t>(want, 65536));
      ssize_t n = read(fd_.get(), in_.data() + in_end_, in_.size() - in_end_);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return absl::UnavailableError(
            n == 0 ? "the daemon closed the connection"
                   : absl::StrCat("read from the daemon: ", strerror(errno)));
      }
      in_end_ += static_cast<size_t>(n);
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(fill(kFrameHeaderSize));
  char bytes[kFrameHeaderSize];
  std::memcpy(bytes, in_.data() + in_pos_, kFrameHeaderSize);
  const FrameHeader header = ParseFrameHeader(bytes);
  if (header.length > kOurMaxFrame) return ProtocolError("frame larger than our SETTINGS allow");
  RETURN_IF_ERROR(fill(kFrameHeaderSize + header.length));
  const std::string_view payload(in_.data() + in_pos_ + kFrameHeaderSize, header.length);
  in_pos_ += kFrameHeaderSize + header.length;
  if (!block_.empty() || block_stream_ != 0) {
    // A header block in progress: only its CONTINUATION frames may come (RFC 9113 6.10).
    if (header.type != kContinuation || header.stream != block_stream_) {
      return ProtocolError("header block interrupted");
    }
    block_.append(payload);
    if ((header.flags & kEndHeaders) == 0) return absl::OkStatus();
    const uint32_t id = std::exchange(block_stream_, 0);
    std::string block = std::move(block_);
    block_.clear();
    return OnHeaderBlock(id, block_end_stream_, block);
  }
  switch (header.type) {
    case kData:
      return OnData(header.stream, header.flags, payload);
    case kHeaders:
      return OnHeaders(header.stream, header.flags, payload);
    case kRstStream:
      return OnRstStream(header.stream, payload);
    case kSettings:
      return OnSettings(header.flags, payload);
    case kPing:
      return OnPing(header.flags, payload);
    case kGoaway:
      return OnGoaway(payload);
    case kWindowUpdate:
      return OnWindowUpdate(header.stream, payload);
    case kPushPromise:
      return ProtocolError("PUSH_PROMISE although push is disabled");
    case kContinuation:
      return ProtocolError("CONTINUATION without HEADERS");
    default:
      return absl::OkStatus();  // PRIORITY and unknown types are ignored (RFC 9113 5.5)
  }
}

absl::Status Connection::OnData(uint32_t id, uint8_t flags, std::string_view payload) {
  if (id == 0) return ProtocolError("DATA on stream 0");
  const auto frame_size = static_cast<int64_t>(payload.size());
  RETURN_IF_ERROR(Unpad(flags, payload));
  int64_t credit = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = streams_.find(id);
    // Padding, and data for a stream we no longer track, is credit straight back.
    conn_unacked_ += frame_size - static_cast<int64_t>(payload.size());
    if (it == streams_.end() || !it->second.error.ok() || it->second.remote_closed) {
      // A stream we dropped, failed, or one the daemon already ended (RFC 9113 5.1: a stream
      // error at most, never the connection's): the bytes only count as credit.
      conn_unacked_ += static_cast<int64_t>(payload.size());
    } else if (!it->second.got_headers) {
      conn_unacked_ += static_cast<int64_t>(payload.size());
      StreamError(it->second, "response DATA before its HEADERS");
    } else {
      StreamState& state = it->second;
      if (static_cast<int64_t>(state.data.size() + payload.size()) > kStreamWindow) {
        return ProtocolError("DATA beyond the stream's window");
      }
      state.data.append(payload);
      if (flags & kEndStream) state.remote_closed = true;
      changed_.notify_all();
    }
    if (conn_unacked_ >= kConnectionWindow / 4) credit = std::exchange(conn_unacked_, 0);
  }
  if (credit > 0) SendWindowUpdate(0, credit);
  return absl::OkStatus();
}

absl::Status Connection::OnHeaders(uint32_t id, uint8_t flags, std::string_view payload) {
  if (id == 0) return ProtocolError("HEADERS on stream 0");
  RETURN_IF_ERROR(Unpad(flags, payload));
  if (flags & kPriorityFlag) {
    if (payload.size() < 5) return ProtocolError("HEADERS too short for its priority");
    payload.remove_prefix(5);
  }
  if ((flags & kEndHeaders) == 0) {
    block_.assign(payload);
    block_stream_ = id;
    block_end_stream_ = (flags & kEndStream) != 0;
    return absl::OkStatus();
  }
  return OnHeaderBlock(id, (flags & kEndStream) != 0, payload);
}

absl::Status Connection::OnHeaderBlock(uint32_t id, bool end_stream, std::string_view block) {
  // Decoded even for streams we dropped: the dynamic table must stay in step with the peer's.
  std::vector<Header> fields;
  absl::Status decoded = decoder_.Decode(block, fields);
  if (!decoded.ok()) return ProtocolError(std::string(decoded.message()));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_.find(id);
  if (it == streams_.end()) return absl::OkStatus();
  StreamState& state = it->second;
  // After the end of the stream the call's outcome is settled; more HEADERS change nothing
  // (gRPC's server can put its initial headers behind the trailers-only answer of a call
  // whose deadline passed).
  if (state.remote_closed || !state.error.ok()) return absl::OkStatus();
  if (!state.got_headers) {
    state.headers = std::move(fields);
    state.got_headers = true;
  } else if (!end_stream) {
    StreamError(state, "trailers without END_STREAM");
    return absl::OkStatus();
  } else {
    state.trailers = std::move(fields);
  }
  if (end_stream) state.remote_closed = true;
  changed_.notify_all();
  return absl::OkStatus();
}

absl::Status Connection::OnRstStream(uint32_t id, std::string_view payload) {
  if (id == 0 || payload.size() != 4) return ProtocolError("malformed RST_STREAM");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_.find(id);
  if (it == streams_.end()) return absl::OkStatus();
  StreamState& state = it->second;
  // After a complete response a reset only ends our side (RFC 9113 8.1): keep the status.
  if (state.error.ok() && !state.remote_closed) state.error = ResetError(ReadBe32(payload.data()));
  state.local_closed = true;
  changed_.notify_all();
  return absl::OkStatus();
}

absl::Status Connection::OnSettings(uint8_t flags, std::string_view payload) {
  if (flags & kAck) return absl::OkStatus();
  if (payload.size() % 6 != 0) return ProtocolError("SETTINGS length not a multiple of 6");
  // The ACK goes out before the new values are used: gRPC's server counts a larger window as
  // granted only once it has our ACK, and resets a stream whose DATA arrives before it.
  std::string ack;
  AppendFrame(ack, kSettings, kAck, 0, {});
  RETURN_IF_ERROR(Write(ack));
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < payload.size(); i += 6) {
    const uint16_t id = ReadBe16(payload.data() + i);
    const uint32_t value = ReadBe32(payload.data() + i + 2);
    if (id == kInitialWindowSize) {
      if (value > kMaxWindow) return ProtocolError("initial window above 2^31-1");
      // Open streams' windows move by the difference (RFC 9113 6.9.2).
      const int64_t delta = static_cast<int64_t>(value) - peer_initial_window_;
      for (auto& [stream, state] : streams_) state.send_window += delta;
      peer_initial_window_ = value;
    } else if (id == kMaxFrameSize) {
      if (value < kDefaultMaxFrameSize || value > 0xffffff) {
        return ProtocolError("max frame size out of range");
      }
      peer_max_frame_ = value;
    }
  }
  changed_.notify_all();
  return absl::OkStatus();
}

absl::Status Connection::OnPing(uint8_t flags, std::string_view payload) {
  if (payload.size() != 8) return ProtocolError("PING length not 8");
  if (flags & kAck) return absl::OkStatus();
  std::string pong;
  AppendFrame(pong, kPing, kAck, 0, payload);
  return Write(pong);
}

absl::Status Connection::OnGoaway(std::string_view payload) {
  if (payload.size() < 8) return ProtocolError("GOAWAY too short");
  const uint32_t last = ReadBe32(payload.data()) & 0x7fffffff;
  std::lock_guard<std::mutex> lock(mu_);
  goaway_last_id_ = std::min(goaway_last_id_, last);
  // Streams above `last` were never processed; the ones below run to their end.
  for (auto& [id, state] : streams_) {
    if (id > last && state.error.ok()) {
      state.error = absl::UnavailableError("the daemon is shutting down");
    }
  }
  changed_.notify_all();
  return absl::OkStatus();
}

absl::Status Connection::OnWindowUpdate(uint32_t id, std::string_view payload) {
  if (payload.size() != 4) return ProtocolError("WINDOW_UPDATE length not 4");
  const int64_t increment = ReadBe32(payload.data()) & 0x7fffffff;
  if (increment == 0) return ProtocolError("WINDOW_UPDATE of 0");
  std::lock_guard<std::mutex> lock(mu_);
  if (id == 0) {
    send_window_ += increment;
    if (send_window_ > kMaxWindow) return ProtocolError("connection window above 2^31-1");
  } else if (auto it = streams_.find(id); it != streams_.end()) {
    it->second.send_window += increment;
    if (it->second.send_window > kMaxWindow) return ProtocolError("stream window above 2^31-1");
  }
  changed_.notify_all();
  return absl::OkStatus();
}

}  // namespace berth::http2
