#include "plugins/base/http2/frames.h"

namespace berth::http2 {

uint32_t ReadBe32(const char* bytes) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

uint16_t ReadBe16(const char* bytes) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes);
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}

FrameHeader ParseFrameHeader(const char (&bytes)[kFrameHeaderSize]) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes);
  FrameHeader header;
  header.length = (uint32_t{b[0]} << 16) | (uint32_t{b[1]} << 8) | b[2];
  header.type = b[3];
  header.flags = b[4];
  header.stream = ReadBe32(bytes + 5) & 0x7fffffff;
  return header;
}

bool StripPadding(uint8_t flags, std::string_view& payload) {
  if ((flags & kPadded) == 0) return true;
  if (payload.empty()) return false;
  const auto pad = static_cast<unsigned char>(payload[0]);
  if (pad >= payload.size()) return false;
  payload = payload.substr(1, payload.size() - 1 - pad);
  return true;
}

std::string Be32(uint32_t value) {
  std::string out;
  AppendBe32(out, value);
  return out;
}

void AppendBe32(std::string& out, uint32_t value) {
  const char bytes[4] = {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
                         static_cast<char>(value >> 8), static_cast<char>(value)};
  out.append(bytes, 4);
}

void AppendSetting(std::string& out, uint16_t id, uint32_t value) {
  out += static_cast<char>(id >> 8);
  out += static_cast<char>(id);
  AppendBe32(out, value);
}

std::array<char, kFrameHeaderSize> EncodeFrameHeader(const FrameHeader& header) {
  const uint32_t stream = header.stream & 0x7fffffff;
  return {static_cast<char>(header.length >> 16), static_cast<char>(header.length >> 8),
          static_cast<char>(header.length),       static_cast<char>(header.type),
          static_cast<char>(header.flags),        static_cast<char>(stream >> 24),
          static_cast<char>(stream >> 16),        static_cast<char>(stream >> 8),
          static_cast<char>(stream)};
}

void AppendFrameHeader(std::string& out, const FrameHeader& header) {
  const std::array<char, kFrameHeaderSize> bytes = EncodeFrameHeader(header);
  out.append(bytes.data(), bytes.size());
}

void AppendFrame(std::string& out, uint8_t type, uint8_t flags, uint32_t stream,
                 std::string_view payload) {
  AppendFrameHeader(out, {static_cast<uint32_t>(payload.size()), type, flags, stream});
  out.append(payload);
}

}  // namespace berth::http2
