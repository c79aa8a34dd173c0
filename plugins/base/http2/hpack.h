#pragma once

// HPACK (RFC 7541), the header compression of HTTP/2, for berthctl's gRPC client and berthd's
// own HTTP/2 server (services/front).
//
// Decoding is stateful per connection: the peer's encoder and our HpackDecoder share a dynamic
// table, so every header block of the connection must go through the same decoder, in the order
// the blocks arrived, and a block must be complete (HEADERS + CONTINUATION payloads joined)
// before it is decoded.
//
// Encoding is stateless: HpackEncode never adds to the peer's dynamic table and never emits a
// table size update, so it needs no agreement with the peer's SETTINGS_HEADER_TABLE_SIZE and
// any number of blocks may be encoded in any order. gRPC requests are small; the lost
// compression does not matter.
//
// Errors: every malformed block is InvalidArgument with a message starting "hpack: " or
// "huffman: ". HTTP/2 makes any decoding error a connection error of type COMPRESSION_ERROR
// (RFC 7540 4.3), since the shared table is then out of sync.
//
// Not checked here (they are HTTP/2 rules, not HPACK ones): lowercase names, pseudo-header
// order, forbidden connection-specific fields.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace berth::http2 {

struct Header {
  std::string name;
  std::string value;

  friend bool operator==(const Header&, const Header&) = default;
};

// The value of the first field named `name`, or null.
const std::string* FindHeader(const std::vector<Header>& fields, std::string_view name);

// Default cap on a decoded header list, counted as RFC 7540 6.5.2 does (name + value + 32 per
// field). Indexed fields are one octet each but may expand to a 4 KiB table entry, so without
// a cap a small block could make us allocate without bound.
inline constexpr size_t kDefaultMaxHeaderListSize = size_t{1} << 20;

// Decodes the header blocks of one connection, keeping the dynamic table between blocks.
// Not thread-safe: one connection reads, one decoder.
class HpackDecoder {
 public:
  // `max_table_size` is our SETTINGS_HEADER_TABLE_SIZE (the peer may shrink the table below it
  // with size updates, never grow it above). `max_header_list_size` is the cap described at
  // kDefaultMaxHeaderListSize; advertise it as SETTINGS_MAX_HEADER_LIST_SIZE if you change it.
  explicit HpackDecoder(size_t max_table_size = 4096,
                        size_t max_header_list_size = kDefaultMaxHeaderListSize);

  // Decodes one complete header block and appends its fields to `out`, in order. Any malformed
  // input is InvalidArgument, `out` is left as it was, and the decoder is unusable: later calls
  // return FailedPrecondition (the caller must tear the connection down with COMPRESSION_ERROR).
  // An empty block is valid and appends nothing.
  [[nodiscard]] absl::Status Decode(std::string_view block, std::vector<Header>& out);

  // The dynamic table, newest entry first (HPACK index 62 first), and its size in octets
  // (name + value + 32 per entry). For tests and debugging.
  std::vector<Header> DynamicTable() const;
  size_t dynamic_table_size() const { return size_; }

 private:
  class Reader;

  [[nodiscard]] absl::Status DecodeBlock(std::string_view block, std::vector<Header>& out);
  [[nodiscard]] absl::Status ReadSizeUpdate(Reader& in);
  [[nodiscard]] absl::Status ReadField(Reader& in, Header& field);
  [[nodiscard]] absl::Status ReadLiteral(Reader& in, int prefix_bits, Header& field);
  [[nodiscard]] absl::Status Lookup(uint64_t index, std::string_view& name,
                                    std::string_view& value) const;
  void Insert(const Header& field);
  void EvictTo(size_t limit);

  const size_t max_table_size_;
  const size_t max_header_list_size_;
  size_t capacity_;           // current table limit, set by size updates; <= max_table_size_
  size_t size_ = 0;           // sum of entry sizes in table_
  std::deque<Header> table_;  // newest first
  bool failed_ = false;
};

// Appends an HPACK encoding of `headers` to `out`. Stateless: every field is a "literal header
// field without indexing" (RFC 7541 6.2.2), naming the static-table index when the static table
// has that name, with raw (non-Huffman) strings. Any HPACK decoder, whatever its table state or
// size, decodes it to exactly `headers`.
void HpackEncode(const std::vector<Header>& headers, std::string& out);

}  // namespace berth::http2
