#include "services/common/wire_buffer.h"

#include <algorithm>

#include "grpcpp/support/slice.h"

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

void DeleteChunk(void* chunk) { delete static_cast<std::string*>(chunk); }

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

std::vector<grpc::Slice> WireBuffer::ReleaseChunks() {
  std::vector<grpc::Slice> slices;
  slices.reserve(chunks_.size());
  for (std::unique_ptr<std::string>& chunk : chunks_) {
    std::string* owned = chunk.release();
    slices.emplace_back(owned->data(), owned->size(), &DeleteChunk, owned);
  }
  chunks_.clear();
  size_ = 0;
  return slices;
}

grpc::ByteBuffer WireBuffer::Finish() && {
  std::vector<grpc::Slice> slices = ReleaseChunks();
  return grpc::ByteBuffer(slices.data(), slices.size());
}

std::vector<grpc::ByteBuffer> WireBuffer::FinishMessages() && {
  std::vector<size_t> ends = std::move(message_ends_);
  std::vector<grpc::Slice> chunks = ReleaseChunks();
  std::vector<grpc::ByteBuffer> messages;
  messages.reserve(ends.size());
  size_t chunk = 0, chunk_start = 0, begin = 0;  // chunk_start: offset of chunks[chunk]
  std::vector<grpc::Slice> parts;
  for (size_t end : ends) {
    parts.clear();
    for (size_t at = begin; at < end;) {
      while (at >= chunk_start + chunks[chunk].size()) chunk_start += chunks[chunk++].size();
      size_t stop = std::min(end, chunk_start + chunks[chunk].size());
      parts.push_back(chunks[chunk].sub(at - chunk_start, stop - chunk_start));
      at = stop;
    }
    messages.emplace_back(parts.data(), parts.size());
    begin = end;
  }
  return messages;
}

}  // namespace berth::services
