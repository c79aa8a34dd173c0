#include "services/common/wire_buffer.h"

#include <algorithm>

#include "services/common/fast_method.h"

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

void WireBuffer::AppendBytesField(uint32_t field, absl::string_view bytes) {
  constexpr uint32_t kLengthDelimited = 2;
  char header[20];
  size_t n = EncodeVarint((uint64_t{field} << 3) | kLengthDelimited, header);
  n += EncodeVarint(bytes.size(), header + n);
  AppendRaw(absl::string_view(header, n));
  AppendRaw(bytes);
}

void WireBuffer::AppendRaw(absl::string_view bytes) {
  size_ += bytes.size();
  while (!bytes.empty()) {
    if (chunks_.empty() || chunks_.back()->size() == chunks_.back()->capacity()) {
      chunks_.push_back(std::make_unique<std::string>());
      chunks_.back()->reserve(std::max(chunk_size_, bytes.size()));
    }
    std::string& chunk = *chunks_.back();
    size_t take = std::min(bytes.size(), chunk.capacity() - chunk.size());
    chunk.append(bytes.data(), take);
    bytes.remove_prefix(take);
  }
}

std::string WireBuffer::FinishFramed() && {
  constexpr size_t kPrefix = 5;
  std::string out;
  out.reserve((message_ends_.empty() ? 0 : message_ends_.back()) +
              kPrefix * message_ends_.size());
  size_t chunk = 0, chunk_start = 0, begin = 0;  // chunk_start: offset of chunks_[chunk]
  for (size_t end : message_ends_) {
    AppendGrpcPrefix(out, end - begin);
    for (size_t at = begin; at < end;) {
      while (at >= chunk_start + chunks_[chunk]->size()) chunk_start += chunks_[chunk++]->size();
      const std::string& bytes = *chunks_[chunk];
      size_t stop = std::min(end, chunk_start + bytes.size());
      out.append(bytes, at - chunk_start, stop - at);
      at = stop;
    }
    begin = end;
  }
  chunks_.clear();
  message_ends_.clear();
  size_ = 0;
  return out;
}

}  // namespace berth::services
