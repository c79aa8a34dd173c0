#include "runtime/ttrpc/frame.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace berth::ttrpc {
namespace {

void PutU32(uint32_t value, char* out) {
  out[0] = static_cast<char>(value >> 24);
  out[1] = static_cast<char>(value >> 16);
  out[2] = static_cast<char>(value >> 8);
  out[3] = static_cast<char>(value);
}

uint32_t GetU32(const char* in) {
  const auto* p = reinterpret_cast<const unsigned char*>(in);
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace

void EncodeFrameHeader(const FrameHeader& header, char out[kFrameHeaderSize]) {
  PutU32(header.length, out);
  PutU32(header.stream_id, out + 4);
  out[8] = static_cast<char>(header.type);
  out[9] = static_cast<char>(header.flags);
}

FrameHeader DecodeFrameHeader(const char in[kFrameHeaderSize]) {
  FrameHeader header;
  header.length = GetU32(in);
  header.stream_id = GetU32(in + 4);
  header.type = static_cast<MessageType>(static_cast<unsigned char>(in[8]));
  header.flags = static_cast<uint8_t>(in[9]);
  return header;
}

absl::Status OversizedError(uint64_t length) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "ttrpc: message length ", length, " exceeds maximum message size of ", kMaxMessageSize));
}

absl::StatusOr<std::string> EncodeFrame(uint32_t stream_id, MessageType type, uint8_t flags,
                                        absl::string_view payload) {
  if (payload.size() > kMaxMessageSize) {
    return OversizedError(payload.size());
  }
  std::string out(kFrameHeaderSize + payload.size(), '\0');
  EncodeFrameHeader({static_cast<uint32_t>(payload.size()), stream_id, type, flags}, out.data());
  if (!payload.empty()) {
    std::memcpy(out.data() + kFrameHeaderSize, payload.data(), payload.size());
  }
  return out;
}

void FrameReader::Append(absl::string_view data) {
  if (offset_ > 0 && offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  } else if (offset_ > 64 * 1024 && offset_ * 2 > buffer_.size()) {
    buffer_.erase(0, offset_);  // Keep the buffer from growing without bound.
    offset_ = 0;
  }
  buffer_.append(data.data(), data.size());
}

absl::StatusOr<std::optional<Frame>> FrameReader::Next() {
  if (failed_) {
    return OversizedError(oversized_.length);
  }
  if (buffered() < kFrameHeaderSize) {
    return std::nullopt;
  }
  Frame frame;
  frame.header = DecodeFrameHeader(buffer_.data() + offset_);
  if (frame.header.length > kMaxMessageSize) {
    failed_ = true;
    oversized_ = frame.header;
    return OversizedError(frame.header.length);
  }
  if (buffered() < kFrameHeaderSize + frame.header.length) {
    buffer_.reserve(offset_ + kFrameHeaderSize + frame.header.length);
    return std::nullopt;
  }
  frame.payload.assign(buffer_, offset_ + kFrameHeaderSize, frame.header.length);
  offset_ += kFrameHeaderSize + frame.header.length;
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  }
  return frame;
}

}  // namespace berth::ttrpc
