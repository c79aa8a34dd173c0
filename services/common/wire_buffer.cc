#include "services/common/wire_buffer.h"

#include <algorithm>


namespace berth::services {
namespace {

// Base-128 varint, as protobuf encodes tags and lengths.
size_t EncodeVarint(uint64_t value, char* out) {
  size_t n = 0;
  while (value >= 0x80) {
    out[n++] = static_cast<char>(value | 0x80);
    value >>= 7;
  }
  out[n++] = static_cast<char>(value);
  return n;
}

}  // namespace

WireBuffer::WireBuffer(size_t chunk_size) : chunk_size_(chunk_size) {
  AppendRaw(absl::string_view("\0\0\0\0\0", kGrpcPrefixSize));  // the first message's prefix
}

void WireBuffer::AppendBytesField(uint32_t field, absl::string_view bytes) {
  constexpr uint32_t kLengthDelimited = 2;
  char header[20];
  size_t n = EncodeVarint((uint64_t{field} << 3) | kLengthDelimited, header);
  n += EncodeVarint(bytes.size(), header + n);
  AppendRaw(absl::string_view(header, n));
  AppendRaw(bytes);
}

void WireBuffer::AppendRaw(absl::string_view bytes) {
  total_ += bytes.size();
  while (!bytes.empty()) {
    if (chunks_.empty() || chunks_.back().size() == chunks_.back().capacity()) {
      chunks_.emplace_back().reserve(std::max(chunk_size_, bytes.size()));
    }
    std::string& chunk = chunks_.back();
    size_t take = std::min(bytes.size(), chunk.capacity() - chunk.size());
    chunk.append(bytes.data(), take);
    bytes.remove_prefix(take);
  }
}

void WireBuffer::Overwrite(size_t offset, absl::string_view bytes) {
  // The current message is at the end: find its chunk walking back.
  size_t index = chunks_.size() - 1;
  size_t start = total_ - chunks_[index].size();
  while (start > offset) start -= chunks_[--index].size();
  for (size_t at = offset - start; !bytes.empty(); at = 0) {
    std::string& chunk = chunks_[index++];
    size_t take = std::min(bytes.size(), chunk.size() - at);
    chunk.replace(at, take, bytes.data(), take);
    bytes.remove_prefix(take);
  }
}

void WireBuffer::EndMessage() {
  char prefix[kGrpcPrefixSize];
  WriteGrpcPrefix(prefix, size());
  largest_ = std::max(largest_, size());
  Overwrite(message_start_, absl::string_view(prefix, sizeof prefix));
  message_start_ = total_;
  AppendRaw(absl::string_view("\0\0\0\0\0", kGrpcPrefixSize));
}

FramedReply WireBuffer::Finish() && {
  // Drop the unended message: everything from its prefix on.
  for (size_t drop = total_ - message_start_; drop > 0;) {
    std::string& last = chunks_.back();
    size_t take = std::min(drop, last.size());
    last.resize(last.size() - take);
    drop -= take;
    if (last.empty()) chunks_.pop_back();
  }
  FramedReply reply{.pieces = std::move(chunks_), .largest_message = largest_};
  chunks_.clear();
  total_ = message_start_ = largest_ = 0;
  return reply;
}

}  // namespace berth::services
