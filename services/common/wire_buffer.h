#pragma once

// WireBuffer builds protobuf messages' wire bytes by hand, for answers that are mostly stored
// records passed through: Containers.List answers 10,000 containers (14 MB) by copying each
// stored record once, instead of parsing it into a message and serializing that again
// (measured: most of the call's server time went to those two steps and to reallocating one
// growing buffer). The bytes are written in gRPC's framed form (each message behind its 5-byte
// prefix, filled in when the message ends) into large chunks, which become the pieces of the
// fast method's reply as they are (fast_method.h): no copy at the end.
//
//   WireBuffer out;
//   for (record : records) out.AppendBytesField(1, record);   // repeated Container containers = 1
//   out.EndMessage();
//   FramedReply reply = std::move(out).Finish();
//
// A stream of messages is built the same way, ending each with EndMessage().

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/common/fast_method.h"

namespace berth::services {

class WireBuffer {
 public:
  static constexpr size_t kDefaultChunkSize = 256 << 10;
  // `chunk_size`: how much each allocation holds. An answer of one known record (a Get) asks
  // for just its size rather than a List's 256 KiB.
  explicit WireBuffer(size_t chunk_size = kDefaultChunkSize);
  // Appends a length-delimited field (bytes, string or embedded message) numbered `field`.
  void AppendBytesField(uint32_t field, absl::string_view bytes);
  // The size of the message being built.
  size_t size() const { return total_ - message_start_ - kGrpcPrefixSize; }
  // Ends the message being built (an empty message is a message too) and starts the next.
  void EndMessage();
  // The messages ended so far; what follows the last EndMessage is dropped.
  FramedReply Finish() &&;

 private:
  void AppendRaw(absl::string_view bytes);
  // Overwrites bytes already appended, from `offset` on (they may span chunks).
  void Overwrite(size_t offset, absl::string_view bytes);

  size_t chunk_size_;
  std::vector<std::string> chunks_;  // each reserved to its capacity, filled in order
  size_t total_ = 0;                 // bytes in chunks_
  size_t message_start_ = 0;         // offset of the current message's prefix
  size_t largest_ = 0;
};

}  // namespace berth::services
