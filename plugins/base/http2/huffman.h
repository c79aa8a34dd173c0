#pragma once

// The static Huffman code of HPACK (RFC 7541 section 5.2 and Appendix B), used for string
// literals in HTTP/2 header blocks. It is a canonical prefix code over 257 symbols: the 256 byte
// values plus EOS (a 30-bit run of ones), which may never appear inside a string. An encoded
// string ends with at most 7 bits of padding, taken from the most significant bits of EOS
// (i.e. all ones).

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace berth::http2 {

// Decodes the Huffman-coded octets `in` and appends the result to `out`. Returns
// InvalidArgument when the input holds the EOS symbol, ends in padding longer than 7 bits, or
// ends in padding that is not all ones (RFC 7541 5.2). On error `out` may hold a partial result.
[[nodiscard]] absl::Status HuffmanDecode(std::string_view in, std::string& out);

// Appends the Huffman coding of `in` to `out`, padded with ones to a whole octet. Our HPACK
// encoder sends raw strings; this exists for tests and for any future encoder that wants it.
void HuffmanEncode(std::string_view in, std::string& out);

}  // namespace berth::http2
