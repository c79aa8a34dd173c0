#include "plugins/base/http2/hpack.h"

#include <array>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "plugins/base/http2/huffman.h"
#include "plugins/base/status_macros.h"

namespace berth::http2 {

const std::string* FindHeader(const std::vector<Header>& fields, std::string_view name) {
  for (const Header& field : fields) {
    if (field.name == name) return &field.value;
  }
  return nullptr;
}

namespace {

struct StaticEntry {
  std::string_view name;
  std::string_view value;
};

// RFC 7541 Appendix A; HPACK index i is kStaticTable[i - 1].
constexpr std::array<StaticEntry, 61> kStaticTable = {{
    {":authority", ""},                    // 1
    {":method", "GET"},                    // 2
    {":method", "POST"},                   // 3
    {":path", "/"},                        // 4
    {":path", "/index.html"},              // 5
    {":scheme", "http"},                   // 6
    {":scheme", "https"},                  // 7
    {":status", "200"},                    // 8
    {":status", "204"},                    // 9
    {":status", "206"},                    // 10
    {":status", "304"},                    // 11
    {":status", "400"},                    // 12
    {":status", "404"},                    // 13
    {":status", "500"},                    // 14
    {"accept-charset", ""},                // 15
    {"accept-encoding", "gzip, deflate"},  // 16
    {"accept-language", ""},               // 17
    {"accept-ranges", ""},                 // 18
    {"accept", ""},                        // 19
    {"access-control-allow-origin", ""},   // 20
    {"age", ""},                           // 21
    {"allow", ""},                         // 22
    {"authorization", ""},                 // 23
    {"cache-control", ""},                 // 24
    {"content-disposition", ""},           // 25
    {"content-encoding", ""},              // 26
    {"content-language", ""},              // 27
    {"content-length", ""},                // 28
    {"content-location", ""},              // 29
    {"content-range", ""},                 // 30
    {"content-type", ""},                  // 31
    {"cookie", ""},                        // 32
    {"date", ""},                          // 33
    {"etag", ""},                          // 34
    {"expect", ""},                        // 35
    {"expires", ""},                       // 36
    {"from", ""},                          // 37
    {"host", ""},                          // 38
    {"if-match", ""},                      // 39
    {"if-modified-since", ""},             // 40
    {"if-none-match", ""},                 // 41
    {"if-range", ""},                      // 42
    {"if-unmodified-since", ""},           // 43
    {"last-modified", ""},                 // 44
    {"link", ""},                          // 45
    {"location", ""},                      // 46
    {"max-forwards", ""},                  // 47
    {"proxy-authenticate", ""},            // 48
    {"proxy-authorization", ""},           // 49
    {"range", ""},                         // 50
    {"referer", ""},                       // 51
    {"refresh", ""},                       // 52
    {"retry-after", ""},                   // 53
    {"server", ""},                        // 54
    {"set-cookie", ""},                    // 55
    {"strict-transport-security", ""},     // 56
    {"transfer-encoding", ""},             // 57
    {"user-agent", ""},                    // 58
    {"vary", ""},                          // 59
    {"via", ""},                           // 60
    {"www-authenticate", ""},              // 61
}};

// Per-entry overhead in table and header list sizes (RFC 7541 4.1, RFC 7540 6.5.2).
constexpr size_t kEntryOverhead = 32;

// We accept integers up to 2^32 - 1: more than any size or index can be, and few enough
// continuation octets (5) that a run of 0x80 octets cannot keep us looping.
constexpr uint64_t kMaxInteger = std::numeric_limits<uint32_t>::max();

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("hpack: ", what));
}

size_t EntrySize(std::string_view name, std::string_view value) {
  return name.size() + value.size() + kEntryOverhead;
}

}  // namespace

// Reads the primitives of RFC 7541 section 5 from one header block.
class HpackDecoder::Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool done() const { return pos_ == in_.size(); }
  uint8_t Peek() const { return static_cast<uint8_t>(in_[pos_]); }

  // An integer whose first octet keeps its top 8 - prefix_bits bits for the field type.
  [[nodiscard]] absl::Status ReadInteger(int prefix_bits, uint64_t& value) {
    if (done()) {
      return Malformed("truncated integer");
    }
    const uint64_t max_prefix = (uint64_t{1} << prefix_bits) - 1;
    value = Next() & max_prefix;
    if (value < max_prefix) {
      return absl::OkStatus();
    }
    for (int shift = 0; shift <= 28; shift += 7) {
      if (done()) {
        return Malformed("truncated integer");
      }
      const uint8_t octet = Next();
      value += uint64_t{octet & 0x7fu} << shift;
      if (value > kMaxInteger) {
        break;
      }
      if ((octet & 0x80) == 0) {
        return absl::OkStatus();
      }
    }
    return Malformed("integer overflows 32 bits");
  }

  // A string literal: H flag, 7-bit prefix length, then raw or Huffman-coded octets.
  [[nodiscard]] absl::Status ReadString(std::string& out) {
    if (done()) {
      return Malformed("truncated string literal");
    }
    const bool huffman = (Peek() & 0x80) != 0;
    uint64_t length = 0;
    RETURN_IF_ERROR(ReadInteger(7, length));
    if (length > in_.size() - pos_) {
      return Malformed(absl::StrCat("string literal of ", length, " octets overruns the block (",
                                    in_.size() - pos_, " left)"));
    }
    const std::string_view raw = in_.substr(pos_, length);
    pos_ += length;
    out.clear();
    if (!huffman) {
      out.assign(raw);
      return absl::OkStatus();
    }
    return HuffmanDecode(raw, out);
  }

 private:
  uint8_t Next() { return static_cast<uint8_t>(in_[pos_++]); }

  std::string_view in_;
  size_t pos_ = 0;
};

HpackDecoder::HpackDecoder(size_t max_table_size, size_t max_header_list_size)
    : max_table_size_(max_table_size),
      max_header_list_size_(max_header_list_size),
      capacity_(max_table_size) {}

absl::Status HpackDecoder::Decode(std::string_view block, std::vector<Header>& out) {
  if (failed_) {
    return absl::FailedPreconditionError("hpack: decoder already failed on an earlier block");
  }
  const size_t old_size = out.size();
  absl::Status status = DecodeBlock(block, out);
  if (!status.ok()) {
    // The table may now disagree with the peer's: nothing decoded from here on can be trusted.
    failed_ = true;
    out.resize(old_size);
  }
  return status;
}

absl::Status HpackDecoder::DecodeBlock(std::string_view block, std::vector<Header>& out) {
  Reader in(block);
  bool field_seen = false;
  size_t list_size = 0;
  while (!in.done()) {
    if ((in.Peek() & 0xe0) == 0x20) {  // 001xxxxx: dynamic table size update
      // RFC 7541 4.2: size updates come at the start of a block, before any field.
      if (field_seen) {
        return Malformed("dynamic table size update after a header field");
      }
      RETURN_IF_ERROR(ReadSizeUpdate(in));
      continue;
    }
    field_seen = true;
    Header field;
    RETURN_IF_ERROR(ReadField(in, field));
    list_size += EntrySize(field.name, field.value);
    if (list_size > max_header_list_size_) {
      return Malformed(
          absl::StrCat("header list too large (over ", max_header_list_size_, " octets)"));
    }
    out.push_back(std::move(field));
  }
  return absl::OkStatus();
}

absl::Status HpackDecoder::ReadSizeUpdate(Reader& in) {
  uint64_t size = 0;
  RETURN_IF_ERROR(in.ReadInteger(5, size));
  if (size > max_table_size_) {
    return Malformed(absl::StrCat("dynamic table size update to ", size,
                                  " exceeds our SETTINGS_HEADER_TABLE_SIZE ", max_table_size_));
  }
  capacity_ = size;
  EvictTo(capacity_);
  return absl::OkStatus();
}

absl::Status HpackDecoder::ReadField(Reader& in, Header& field) {
  const uint8_t first = in.Peek();
  if ((first & 0x80) != 0) {  // 1xxxxxxx: indexed field
    uint64_t index = 0;
    RETURN_IF_ERROR(in.ReadInteger(7, index));
    std::string_view name;
    std::string_view value;
    RETURN_IF_ERROR(Lookup(index, name, value));
    field.name.assign(name);
    field.value.assign(value);
    return absl::OkStatus();
  }
  if ((first & 0xc0) == 0x40) {  // 01xxxxxx: literal with incremental indexing
    RETURN_IF_ERROR(ReadLiteral(in, 6, field));
    Insert(field);
    return absl::OkStatus();
  }
  // 0000xxxx (without indexing) and 0001xxxx (never indexed) differ only for intermediaries
  // that re-encode; we decode both the same way.
  return ReadLiteral(in, 4, field);
}

absl::Status HpackDecoder::ReadLiteral(Reader& in, int prefix_bits, Header& field) {
  uint64_t name_index = 0;
  RETURN_IF_ERROR(in.ReadInteger(prefix_bits, name_index));
  if (name_index == 0) {  // the name follows as a literal
    RETURN_IF_ERROR(in.ReadString(field.name));
  } else {
    std::string_view name;
    std::string_view value;
    RETURN_IF_ERROR(Lookup(name_index, name, value));
    field.name.assign(name);  // a copy: inserting this field may evict the entry it names
  }
  return in.ReadString(field.value);
}

absl::Status HpackDecoder::Lookup(uint64_t index, std::string_view& name,
                                  std::string_view& value) const {
  if (index == 0) {
    return Malformed("index 0 is not a valid table index");
  }
  if (index <= kStaticTable.size()) {
    name = kStaticTable[index - 1].name;
    value = kStaticTable[index - 1].value;
    return absl::OkStatus();
  }
  const uint64_t dynamic = index - kStaticTable.size() - 1;
  if (dynamic >= table_.size()) {
    return Malformed(absl::StrCat("index ", index, " is past the end of the table (",
                                  kStaticTable.size() + table_.size(), " entries)"));
  }
  name = table_[dynamic].name;
  value = table_[dynamic].value;
  return absl::OkStatus();
}

void HpackDecoder::Insert(const Header& field) {
  const size_t entry_size = EntrySize(field.name, field.value);
  // RFC 7541 4.4: an entry larger than the whole table is not an error; it empties the table.
  if (entry_size > capacity_) {
    EvictTo(0);
    return;
  }
  EvictTo(capacity_ - entry_size);
  table_.push_front(field);
  size_ += entry_size;
}

void HpackDecoder::EvictTo(size_t limit) {
  while (size_ > limit) {
    size_ -= EntrySize(table_.back().name, table_.back().value);
    table_.pop_back();
  }
}

std::vector<Header> HpackDecoder::DynamicTable() const {
  return std::vector<Header>(table_.begin(), table_.end());
}

namespace {

// Appends `value` as an integer with an N-bit prefix; `pattern` holds the field type bits.
void AppendInteger(uint8_t pattern, int prefix_bits, uint64_t value, std::string& out) {
  const uint64_t max_prefix = (uint64_t{1} << prefix_bits) - 1;
  if (value < max_prefix) {
    out.push_back(static_cast<char>(pattern | value));
    return;
  }
  out.push_back(static_cast<char>(pattern | max_prefix));
  value -= max_prefix;
  while (value >= 0x80) {
    out.push_back(static_cast<char>(0x80 | (value & 0x7f)));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// A raw string literal (H = 0).
void AppendString(std::string_view s, std::string& out) {
  AppendInteger(0x00, 7, s.size(), out);
  out.append(s);
}

// The lowest static index with this name, or 0.
size_t StaticNameIndex(std::string_view name) {
  for (size_t i = 0; i < kStaticTable.size(); ++i) {
    if (kStaticTable[i].name == name) {
      return i + 1;
    }
  }
  return 0;
}

}  // namespace

void HpackEncode(const std::vector<Header>& headers, std::string& out) {
  for (const Header& h : headers) {
    // 0000xxxx: literal without indexing; a zero index means the name follows as a literal.
    const size_t name_index = StaticNameIndex(h.name);
    AppendInteger(0x00, 4, name_index, out);
    if (name_index == 0) {
      AppendString(h.name, out);
    }
    AppendString(h.value, out);
  }
}

}  // namespace berth::http2
