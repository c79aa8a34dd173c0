#pragma once

// HTTP/2 frames (RFC 9113 section 4 and 6): the 9-byte header, the frame types, flags, settings
// and error codes berthctl's client and berthd's front end use. Parsing and building only; no I/O.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace berth::http2 {

inline constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
inline constexpr size_t kFrameHeaderSize = 9;
// What every peer accepts before its SETTINGS arrive (RFC 9113 6.5.2).
inline constexpr uint32_t kDefaultMaxFrameSize = 16384;
inline constexpr int64_t kDefaultWindow = 65535;
inline constexpr int64_t kMaxWindow = 0x7fffffff;

// Berth's receive windows, both ends (berthctl's client, berthd's front end). A stream may have
// this much in flight before it is taken; the connection's is larger so one slow stream cannot
// hold back the others. Credit goes back in quarters: a WINDOW_UPDATE per quarter window
// taken, not per frame.
inline constexpr int64_t kStreamWindow = 4 << 20;
inline constexpr int64_t kConnectionWindow = 16 << 20;
// Largest frame we accept: big DATA frames mean fewer reads for blobs and image archives.
inline constexpr uint32_t kOurMaxFrame = 1 << 20;

enum FrameType : uint8_t {
  kData = 0x0,
  kHeaders = 0x1,
  kPriority = 0x2,
  kRstStream = 0x3,
  kSettings = 0x4,
  kPushPromise = 0x5,
  kPing = 0x6,
  kGoaway = 0x7,
  kWindowUpdate = 0x8,
  kContinuation = 0x9,
};

enum FrameFlag : uint8_t {
  kEndStream = 0x1,  // DATA, HEADERS
  kAck = 0x1,        // SETTINGS, PING
  kEndHeaders = 0x4,
  kPadded = 0x8,
  kPriorityFlag = 0x20,
};

enum Setting : uint16_t {
  kHeaderTableSize = 0x1,
  kEnablePush = 0x2,
  kMaxConcurrentStreams = 0x3,
  kInitialWindowSize = 0x4,
  kMaxFrameSize = 0x5,
  kMaxHeaderListSize = 0x6,
};

enum ErrorCode : uint32_t {
  kNoError = 0x0,
  kProtocolError = 0x1,
  kInternalError = 0x2,
  kFlowControlError = 0x3,
  kFrameSizeError = 0x6,
  kRefusedStream = 0x7,
  kCancel = 0x8,
  kCompressionError = 0x9,
};

struct FrameHeader {
  uint32_t length = 0;  // payload bytes (24 bits)
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t stream = 0;  // 31 bits; the reserved bit is dropped
};

FrameHeader ParseFrameHeader(const char (&bytes)[kFrameHeaderSize]);
std::array<char, kFrameHeaderSize> EncodeFrameHeader(const FrameHeader& header);
void AppendFrameHeader(std::string& out, const FrameHeader& header);
// A whole frame: header and payload.
void AppendFrame(std::string& out, uint8_t type, uint8_t flags, uint32_t stream,
                 std::string_view payload);
void AppendBe32(std::string& out, uint32_t value);
// A 4-byte payload: WINDOW_UPDATE's increment, RST_STREAM's error code.
std::string Be32(uint32_t value);
// One entry of a SETTINGS payload: the 16-bit id and 32-bit value.
void AppendSetting(std::string& out, uint16_t id, uint32_t value);
uint32_t ReadBe32(const char* bytes);
// Strips a padded (PADDED flag) frame's Pad Length field and padding (RFC 9113 6.1, 6.2);
// false if the padding does not fit the frame, a protocol error.
bool StripPadding(uint8_t flags, std::string_view& payload);
uint16_t ReadBe16(const char* bytes);

}  // namespace berth::http2
