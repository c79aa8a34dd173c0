#pragma once

// ttrpc framing: every message travels as a 10-byte header followed by its payload.
//
//   [length u32 BE][stream id u32 BE][type u8][flags u8] payload...
//
// ttrpc 1.1 (containerd 1.6) only knows request and response frames; ttrpc 1.2 adds data frames
// and the flags below for streams. FrameReader passes every type and the flags through so the
// layers above can add streaming without touching the codec.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::ttrpc {

inline constexpr size_t kFrameHeaderSize = 10;
inline constexpr uint32_t kMaxMessageSize = 4 << 20;  // 4 MiB, as in Go ttrpc.

enum class MessageType : uint8_t {
  kRequest = 1,
  kResponse = 2,
  kData = 3,  // ttrpc 1.2 streams.
};

// Frame flags (ttrpc 1.2; always 0 in 1.1).
inline constexpr uint8_t kFlagRemoteClosed = 0x1;  // The sender will send nothing more.
inline constexpr uint8_t kFlagRemoteOpen = 0x2;    // A request that opens a stream.
inline constexpr uint8_t kFlagNoData = 0x4;        // A data frame without payload.

struct FrameHeader {
  uint32_t length = 0;
  uint32_t stream_id = 0;
  MessageType type = MessageType::kRequest;
  uint8_t flags = 0;

  bool operator==(const FrameHeader&) const = default;
};

void EncodeFrameHeader(const FrameHeader& header, char out[kFrameHeaderSize]);
FrameHeader DecodeFrameHeader(const char in[kFrameHeaderSize]);

// Header + payload, ready to write. ResourceExhausted if the payload is over kMaxMessageSize.
absl::StatusOr<std::string> EncodeFrame(uint32_t stream_id, MessageType type, uint8_t flags,
                                        absl::string_view payload);

struct Frame {
  FrameHeader header;
  std::string payload;
};

// Incremental decoder: feed it whatever read(2) returned, take complete frames out.
class FrameReader {
 public:
  void Append(absl::string_view data);
  // The next complete frame, std::nullopt if more bytes are needed, or ResourceExhausted if the
  // next frame is over kMaxMessageSize (then oversized_header() tells which stream it was for;
  // the reader is unusable afterwards: the connection has to be closed).
  absl::StatusOr<std::optional<Frame>> Next();
  const FrameHeader& oversized_header() const { return oversized_; }
  // Bytes received but not yet returned as frames.
  size_t buffered() const { return buffer_.size() - offset_; }

 private:
  std::string buffer_;
  size_t offset_ = 0;
  FrameHeader oversized_;
  bool failed_ = false;
};

// The error for a frame of `length` bytes.
absl::Status OversizedError(uint64_t length);

}  // namespace berth::ttrpc
