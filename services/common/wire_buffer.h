#pragma once

// WireBuffer builds protobuf messages' wire bytes by hand, for responses that are mostly
// stored records passed through: Containers.List answers 10,000 containers (14 MB) by copying
// each stored record, instead of parsing it into a message and serializing that again
// (measured: most of the call's server time went to those two steps and to reallocating one
// growing buffer). The bytes gather in large chunks and are copied once, at the end, into
// the gRPC length-prefixed form the front end sends (fast_method.h).
//
//   WireBuffer out;
//   for (record : records) out.AppendBytesField(1, record);   // repeated Container containers = 1
//   out.EndMessage();
//   std::string framed = std::move(out).FinishFramed();
//
// A stream of messages is built the same way, ending each with EndMessage().

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace berth::services {

class WireBuffer {
 public:
  static constexpr size_t kDefaultChunkSize = 256 << 10;
  // `chunk_size`: how much each allocation holds. A response of one known record (a Get) asks
  // for just its size rather than a List's 256 KiB.
  explicit WireBuffer(size_t chunk_size = kDefaultChunkSize) : chunk_size_(chunk_size) {}
  // Appends a length-delimited field (bytes, string or embedded message) numbered `field`.
  void AppendBytesField(uint32_t field, absl::string_view bytes);
  size_t size() const { return size_; }
  // Ends the message being built; an empty message is a message too.
  void EndMessage() { message_ends_.push_back(size_); }
  // The messages ended so far, each behind gRPC's 5-byte prefix, back to back. Bytes after
  // the last EndMessage are dropped.
  std::string FinishFramed() &&;

 private:
  void AppendRaw(absl::string_view bytes);

  size_t chunk_size_;
  std::vector<std::unique_ptr<std::string>> chunks_;
  size_t size_ = 0;
  std::vector<size_t> message_ends_;
};

}  // namespace berth::services
