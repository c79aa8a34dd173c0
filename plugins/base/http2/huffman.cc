#include "plugins/base/http2/huffman.h"

#include <array>
#include <cstdint>

namespace berth::http2 {
namespace {

struct Code {
  uint32_t bits;   // the code, right-aligned
  uint8_t length;  // in bits, 5..30
};

// RFC 7541 Appendix B: the code of every symbol, indexed by symbol (0x00..0xff, then EOS).
constexpr int kEos = 256;
// clang-format off
constexpr std::array<Code, 257> kCodes = {{
    /* 0x00 */ {0x1ff8, 13}, {0x7fffd8, 23}, {0xfffffe2, 28}, {0xfffffe3, 28},
    /* 0x04 */ {0xfffffe4, 28}, {0xfffffe5, 28}, {0xfffffe6, 28}, {0xfffffe7, 28},
    /* 0x08 */ {0xfffffe8, 28}, {0xffffea, 24}, {0x3ffffffc, 30}, {0xfffffe9, 28},
    /* 0x0c */ {0xfffffea, 28}, {0x3ffffffd, 30}, {0xfffffeb, 28}, {0xfffffec, 28},
    /* 0x10 */ {0xfffffed, 28}, {0xfffffee, 28}, {0xfffffef, 28}, {0xffffff0, 28},
    /* 0x14 */ {0xffffff1, 28}, {0xffffff2, 28}, {0x3ffffffe, 30}, {0xffffff3, 28},
    /* 0x18 */ {0xffffff4, 28}, {0xffffff5, 28}, {0xffffff6, 28}, {0xffffff7, 28},
    /* 0x1c */ {0xffffff8, 28}, {0xffffff9, 28}, {0xffffffa, 28}, {0xffffffb, 28},
    /* 0x20 */ {0x14, 6}, {0x3f8, 10}, {0x3f9, 10}, {0xffa, 12},
    /* 0x24 */ {0x1ff9, 13}, {0x15, 6}, {0xf8, 8}, {0x7fa, 11},
    /* 0x28 */ {0x3fa, 10}, {0x3fb, 10}, {0xf9, 8}, {0x7fb, 11},
    /* 0x2c */ {0xfa, 8}, {0x16, 6}, {0x17, 6}, {0x18, 6},
    /* 0x30 */ {0x0, 5}, {0x1, 5}, {0x2, 5}, {0x19, 6},
    /* 0x34 */ {0x1a, 6}, {0x1b, 6}, {0x1c, 6}, {0x1d, 6},
    /* 0x38 */ {0x1e, 6}, {0x1f, 6}, {0x5c, 7}, {0xfb, 8},
    /* 0x3c */ {0x7ffc, 15}, {0x20, 6}, {0xffb, 12}, {0x3fc, 10},
    /* 0x40 */ {0x1ffa, 13}, {0x21, 6}, {0x5d, 7}, {0x5e, 7},
    /* 0x44 */ {0x5f, 7}, {0x60, 7}, {0x61, 7}, {0x62, 7},
    /* 0x48 */ {0x63, 7}, {0x64, 7}, {0x65, 7}, {0x66, 7},
    /* 0x4c */ {0x67, 7}, {0x68, 7}, {0x69, 7}, {0x6a, 7},
    /* 0x50 */ {0x6b, 7}, {0x6c, 7}, {0x6d, 7}, {0x6e, 7},
    /* 0x54 */ {0x6f, 7}, {0x70, 7}, {0x71, 7}, {0x72, 7},
    /* 0x58 */ {0xfc, 8}, {0x73, 7}, {0xfd, 8}, {0x1ffb, 13},
    /* 0x5c */ {0x7fff0, 19}, {0x1ffc, 13}, {0x3ffc, 14}, {0x22, 6},
    /* 0x60 */ {0x7ffd, 15}, {0x3, 5}, {0x23, 6}, {0x4, 5},
    /* 0x64 */ {0x24, 6}, {0x5, 5}, {0x25, 6}, {0x26, 6},
    /* 0x68 */ {0x27, 6}, {0x6, 5}, {0x74, 7}, {0x75, 7},
    /* 0x6c */ {0x28, 6}, {0x29, 6}, {0x2a, 6}, {0x7, 5},
    /* 0x70 */ {0x2b, 6}, {0x76, 7}, {0x2c, 6}, {0x8, 5},
    /* 0x74 */ {0x9, 5}, {0x2d, 6}, {0x77, 7}, {0x78, 7},
    /* 0x78 */ {0x79, 7}, {0x7a, 7}, {0x7b, 7}, {0x7ffe, 15},
    /* 0x7c */ {0x7fc, 11}, {0x3ffd, 14}, {0x1ffd, 13}, {0xffffffc, 28},
    /* 0x80 */ {0xfffe6, 20}, {0x3fffd2, 22}, {0xfffe7, 20}, {0xfffe8, 20},
    /* 0x84 */ {0x3fffd3, 22}, {0x3fffd4, 22}, {0x3fffd5, 22}, {0x7fffd9, 23},
    /* 0x88 */ {0x3fffd6, 22}, {0x7fffda, 23}, {0x7fffdb, 23}, {0x7fffdc, 23},
    /* 0x8c */ {0x7fffdd, 23}, {0x7fffde, 23}, {0xffffeb, 24}, {0x7fffdf, 23},
    /* 0x90 */ {0xffffec, 24}, {0xffffed, 24}, {0x3fffd7, 22}, {0x7fffe0, 23},
    /* 0x94 */ {0xffffee, 24}, {0x7fffe1, 23}, {0x7fffe2, 23}, {0x7fffe3, 23},
    /* 0x98 */ {0x7fffe4, 23}, {0x1fffdc, 21}, {0x3fffd8, 22}, {0x7fffe5, 23},
    /* 0x9c */ {0x3fffd9, 22}, {0x7fffe6, 23}, {0x7fffe7, 23}, {0xffffef, 24},
    /* 0xa0 */ {0x3fffda, 22}, {0x1fffdd, 21}, {0xfffe9, 20}, {0x3fffdb, 22},
    /* 0xa4 */ {0x3fffdc, 22}, {0x7fffe8, 23}, {0x7fffe9, 23}, {0x1fffde, 21},
    /* 0xa8 */ {0x7fffea, 23}, {0x3fffdd, 22}, {0x3fffde, 22}, {0xfffff0, 24},
    /* 0xac */ {0x1fffdf, 21}, {0x3fffdf, 22}, {0x7fffeb, 23}, {0x7fffec, 23},
    /* 0xb0 */ {0x1fffe0, 21}, {0x1fffe1, 21}, {0x3fffe0, 22}, {0x1fffe2, 21},
    /* 0xb4 */ {0x7fffed, 23}, {0x3fffe1, 22}, {0x7fffee, 23}, {0x7fffef, 23},
    /* 0xb8 */ {0xfffea, 20}, {0x3fffe2, 22}, {0x3fffe3, 22}, {0x3fffe4, 22},
    /* 0xbc */ {0x7ffff0, 23}, {0x3fffe5, 22}, {0x3fffe6, 22}, {0x7ffff1, 23},
    /* 0xc0 */ {0x3ffffe0, 26}, {0x3ffffe1, 26}, {0xfffeb, 20}, {0x7fff1, 19},
    /* 0xc4 */ {0x3fffe7, 22}, {0x7ffff2, 23}, {0x3fffe8, 22}, {0x1ffffec, 25},
    /* 0xc8 */ {0x3ffffe2, 26}, {0x3ffffe3, 26}, {0x3ffffe4, 26}, {0x7ffffde, 27},
    /* 0xcc */ {0x7ffffdf, 27}, {0x3ffffe5, 26}, {0xfffff1, 24}, {0x1ffffed, 25},
    /* 0xd0 */ {0x7fff2, 19}, {0x1fffe3, 21}, {0x3ffffe6, 26}, {0x7ffffe0, 27},
    /* 0xd4 */ {0x7ffffe1, 27}, {0x3ffffe7, 26}, {0x7ffffe2, 27}, {0xfffff2, 24},
    /* 0xd8 */ {0x1fffe4, 21}, {0x1fffe5, 21}, {0x3ffffe8, 26}, {0x3ffffe9, 26},
    /* 0xdc */ {0xffffffd, 28}, {0x7ffffe3, 27}, {0x7ffffe4, 27}, {0x7ffffe5, 27},
    /* 0xe0 */ {0xfffec, 20}, {0xfffff3, 24}, {0xfffed, 20}, {0x1fffe6, 21},
    /* 0xe4 */ {0x3fffe9, 22}, {0x1fffe7, 21}, {0x1fffe8, 21}, {0x7ffff3, 23},
    /* 0xe8 */ {0x3fffea, 22}, {0x3fffeb, 22}, {0x1ffffee, 25}, {0x1ffffef, 25},
    /* 0xec */ {0xfffff4, 24}, {0xfffff5, 24}, {0x3ffffea, 26}, {0x7ffff4, 23},
    /* 0xf0 */ {0x3ffffeb, 26}, {0x7ffffe6, 27}, {0x3ffffec, 26}, {0x3ffffed, 26},
    /* 0xf4 */ {0x7ffffe7, 27}, {0x7ffffe8, 27}, {0x7ffffe9, 27}, {0x7ffffea, 27},
    /* 0xf8 */ {0x7ffffeb, 27}, {0xffffffe, 28}, {0x7ffffec, 27}, {0x7ffffed, 27},
    /* 0xfc */ {0x7ffffee, 27}, {0x7ffffef, 27}, {0x7fffff0, 27}, {0x3ffffee, 26},
    /* EOS  */ {0x3fffffff, 30},
}};
// clang-format on

constexpr int kMinLength = 5;
constexpr int kMaxLength = 30;

// Canonical decoding (as in DEFLATE decoders): codes of one length are consecutive integers
// assigned in symbol order, and each length continues where the previous one left off, shifted.
// So a 32-bit window of input, left-aligned, is a code of length L exactly when it is below
// limit[L] and not below limit[L-1]; its symbol's rank among the codes of that length is the
// window's top L bits minus first_code[L].
struct DecodeTable {
  std::array<uint64_t, kMaxLength + 1> limit{};         // left-aligned end of length L's codes
  std::array<uint32_t, kMaxLength + 1> first_code{};    // smallest code of length L
  std::array<uint16_t, kMaxLength + 1> first_symbol{};  // its position in `symbols`
  std::array<uint16_t, 257> symbols{};                  // sorted by (length, symbol)
};

constexpr DecodeTable BuildDecodeTable() {
  DecodeTable t;
  std::array<int, kMaxLength + 1> count{};
  for (const Code& c : kCodes) {
    ++count[c.length];
  }
  uint32_t code = 0;
  int position = 0;
  for (int len = 1; len <= kMaxLength; ++len) {
    code = (code + count[len - 1]) << 1;
    t.first_code[len] = code;
    t.first_symbol[len] = position;
    t.limit[len] = uint64_t{code + count[len]} << (32 - len);
    for (int symbol = 0; symbol <= kEos; ++symbol) {
      if (kCodes[symbol].length == len) {
        t.symbols[position++] = symbol;
      }
    }
  }
  return t;
}

constexpr DecodeTable kDecode = BuildDecodeTable();

// The table above is only right if Appendix B really is canonical and complete; check both at
// compile time, so a typo in kCodes cannot turn into silent misdecoding.
constexpr bool CodesAreCanonical() {
  for (int p = 0; p <= kEos; ++p) {
    const Code& c = kCodes[kDecode.symbols[p]];
    if (c.bits != kDecode.first_code[c.length] + (p - kDecode.first_symbol[c.length])) {
      return false;
    }
  }
  return true;
}
static_assert(CodesAreCanonical(), "RFC 7541 Appendix B table is not canonical: typo?");
static_assert(kDecode.limit[kMaxLength] == uint64_t{1} << 32, "Huffman code is not complete");
static_assert(kDecode.limit[kMinLength - 1] == 0, "code shorter than 5 bits");

// Decodes the symbol at the top of a left-aligned 32-bit window; sets `length` to its bits.
// Every window decodes to something because the code is complete.
int DecodeSymbol(uint32_t window, int& length) {
  int len = kMinLength;
  while (window >= kDecode.limit[len]) {
    ++len;
  }
  length = len;
  uint32_t rank = (window >> (32 - len)) - kDecode.first_code[len];
  return kDecode.symbols[kDecode.first_symbol[len] + rank];
}

}  // namespace

absl::Status HuffmanDecode(std::string_view in, std::string& out) {
  // `acc` holds `nbits` unread bits in its low end (higher bits are stale and masked off).
  uint64_t acc = 0;
  int nbits = 0;
  size_t pos = 0;
  while (true) {
    while (nbits <= 56 && pos < in.size()) {
      acc = (acc << 8) | static_cast<uint8_t>(in[pos++]);
      nbits += 8;
    }
    if (nbits == 0) {
      return absl::OkStatus();
    }
    // Past the end of the input the window is filled with zeros; a code that reaches into
    // them is not in the input, so what is left must be padding.
    uint32_t window = nbits >= 32 ? static_cast<uint32_t>(acc >> (nbits - 32))
                                  : static_cast<uint32_t>(acc << (32 - nbits));
    int length = 0;
    int symbol = DecodeSymbol(window, length);
    if (length > nbits) {
      break;
    }
    if (symbol == kEos) {
      return absl::InvalidArgumentError("huffman: EOS symbol inside a string literal");
    }
    out.push_back(static_cast<char>(symbol));
    nbits -= length;
  }
  if (nbits > 7) {
    return absl::InvalidArgumentError(
        "huffman: string ends in more than 7 bits of padding or inside a code");
  }
  uint64_t ones = (uint64_t{1} << nbits) - 1;
  if ((acc & ones) != ones) {
    return absl::InvalidArgumentError("huffman: padding is not a prefix of EOS (all ones)");
  }
  return absl::OkStatus();
}

void HuffmanEncode(std::string_view in, std::string& out) {
  // `acc` holds `nbits` (< 8 between symbols) pending bits in its low end.
  uint64_t acc = 0;
  int nbits = 0;
  for (char ch : in) {
    const Code& c = kCodes[static_cast<uint8_t>(ch)];
    acc = (acc << c.length) | c.bits;
    nbits += c.length;
    while (nbits >= 8) {
      nbits -= 8;
      out.push_back(static_cast<char>(acc >> nbits));
    }
  }
  if (nbits > 0) {
    int pad = 8 - nbits;
    out.push_back(static_cast<char>((acc << pad) | ((1u << pad) - 1)));
  }
}

}  // namespace berth::http2
