#include "plugins/base/http2/hpack.h"

#include <cctype>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "plugins/base/http2/huffman.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::http2 {

// gtest output for failed comparisons.
void PrintTo(const Header& h, std::ostream* os) { *os << '{' << h.name << ": " << h.value << '}'; }

namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// "400a 6375" -> the octets; white space is ignored.
std::string Dehex(std::string_view hex) {
  std::string out;
  int high = -1;
  for (char c : hex) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      continue;
    }
    const int nibble =
        std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (c | 0x20) - 'a' + 10;
    if (high < 0) {
      high = nibble;
    } else {
      out.push_back(static_cast<char>(high << 4 | nibble));
      high = -1;
    }
  }
  return out;
}

absl::Status DecodeOnce(std::string_view block, std::vector<Header>& out,
                        size_t max_table_size = 4096) {
  HpackDecoder decoder(max_table_size);
  return decoder.Decode(block, out);
}

// One block of an RFC 7541 Appendix C series, decoded on the same decoder as the previous ones.
struct Step {
  std::string hex;
  std::vector<Header> want;
  std::vector<Header> want_table;  // newest first
  size_t want_table_size;
};

void DecodeSeries(size_t max_table_size, const std::vector<Step>& steps) {
  HpackDecoder decoder(max_table_size);
  for (size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE(testing::Message() << "block " << i + 1);
    std::vector<Header> got;
    ASSERT_TRUE(decoder.Decode(Dehex(steps[i].hex), got).ok());
    EXPECT_THAT(got, ElementsAreArray(steps[i].want));
    EXPECT_THAT(decoder.DynamicTable(), ElementsAreArray(steps[i].want_table));
    EXPECT_EQ(decoder.dynamic_table_size(), steps[i].want_table_size);
  }
}

// --- RFC 7541 C.2: one field per block ---------------------------------------------------------

TEST(HpackDecoderTest, C21LiteralWithIndexing) {
  HpackDecoder decoder;
  std::vector<Header> got;
  ASSERT_TRUE(
      decoder.Decode(Dehex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"), got)
          .ok());
  EXPECT_THAT(got, ElementsAre(Header{"custom-key", "custom-header"}));
  EXPECT_THAT(decoder.DynamicTable(), ElementsAre(Header{"custom-key", "custom-header"}));
  EXPECT_EQ(decoder.dynamic_table_size(), 55u);
}

TEST(HpackDecoderTest, C22LiteralWithoutIndexing) {
  HpackDecoder decoder;
  std::vector<Header> got;
  ASSERT_TRUE(decoder.Decode(Dehex("040c 2f73 616d 706c 652f 7061 7468"), got).ok());
  EXPECT_THAT(got, ElementsAre(Header{":path", "/sample/path"}));
  EXPECT_THAT(decoder.DynamicTable(), IsEmpty());
  EXPECT_EQ(decoder.dynamic_table_size(), 0u);
}

TEST(HpackDecoderTest, C23LiteralNeverIndexed) {
  HpackDecoder decoder;
  std::vector<Header> got;
  ASSERT_TRUE(decoder.Decode(Dehex("1008 7061 7373 776f 7264 0673 6563 7265 74"), got).ok());
  EXPECT_THAT(got, ElementsAre(Header{"password", "secret"}));
  EXPECT_THAT(decoder.DynamicTable(), IsEmpty());
}

TEST(HpackDecoderTest, C24IndexedField) {
  HpackDecoder decoder;
  std::vector<Header> got;
  ASSERT_TRUE(decoder.Decode("\x82", got).ok());
  EXPECT_THAT(got, ElementsAre(Header{":method", "GET"}));
  EXPECT_THAT(decoder.DynamicTable(), IsEmpty());
}

TEST(HpackDecoderTest, AppendsToExistingOutput) {
  std::vector<Header> got = {{"x", "y"}};
  ASSERT_TRUE(DecodeOnce("\x82\x87", got).ok());
  EXPECT_THAT(got,
              ElementsAre(Header{"x", "y"}, Header{":method", "GET"}, Header{":scheme", "https"}));
}

TEST(HpackDecoderTest, EmptyBlockIsValid) {
  std::vector<Header> got;
  EXPECT_TRUE(DecodeOnce("", got).ok());
  EXPECT_THAT(got, IsEmpty());
}

TEST(HpackDecoderTest, LastStaticEntry) {
  std::vector<Header> got;
  ASSERT_TRUE(DecodeOnce("\xbd", got).ok());  // index 61
  EXPECT_THAT(got, ElementsAre(Header{"www-authenticate", ""}));
}

// --- RFC 7541 C.3-C.6: consecutive blocks on one connection ------------------------------------

const std::vector<Header> kRequest1 = {
    {":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":authority", "www.example.com"}};
const std::vector<Header> kRequest2 = {{":method", "GET"},
                                       {":scheme", "http"},
                                       {":path", "/"},
                                       {":authority", "www.example.com"},
                                       {"cache-control", "no-cache"}};
const std::vector<Header> kRequest3 = {{":method", "GET"},
                                       {":scheme", "https"},
                                       {":path", "/index.html"},
                                       {":authority", "www.example.com"},
                                       {"custom-key", "custom-value"}};
const std::vector<Header> kRequestTable1 = {{":authority", "www.example.com"}};
const std::vector<Header> kRequestTable2 = {{"cache-control", "no-cache"},
                                            {":authority", "www.example.com"}};
const std::vector<Header> kRequestTable3 = {{"custom-key", "custom-value"},
                                            {"cache-control", "no-cache"},
                                            {":authority", "www.example.com"}};

TEST(HpackDecoderTest, C3RequestsWithoutHuffman) {
  DecodeSeries(
      4096,
      {
          {"8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", kRequest1, kRequestTable1, 57},
          {"8286 84be 5808 6e6f 2d63 6163 6865", kRequest2, kRequestTable2, 110},
          {"8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65", kRequest3,
           kRequestTable3, 164},
      });
}

TEST(HpackDecoderTest, C4RequestsWithHuffman) {
  DecodeSeries(4096,
               {
                   {"8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", kRequest1, kRequestTable1, 57},
                   {"8286 84be 5886 a8eb 1064 9cbf", kRequest2, kRequestTable2, 110},
                   {"8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf", kRequest3,
                    kRequestTable3, 164},
               });
}

const std::vector<Header> kResponse1 = {{":status", "302"},
                                        {"cache-control", "private"},
                                        {"date", "Mon, 21 Oct 2013 20:13:21 GMT"},
                                        {"location", "https://www.example.com"}};
const std::vector<Header> kResponse2 = {{":status", "307"},
                                        {"cache-control", "private"},
                                        {"date", "Mon, 21 Oct 2013 20:13:21 GMT"},
                                        {"location", "https://www.example.com"}};
const std::vector<Header> kResponse3 = {
    {":status", "200"},
    {"cache-control", "private"},
    {"date", "Mon, 21 Oct 2013 20:13:22 GMT"},
    {"location", "https://www.example.com"},
    {"content-encoding", "gzip"},
    {"set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"}};
const std::vector<Header> kResponseTable1 = {{"location", "https://www.example.com"},
                                             {"date", "Mon, 21 Oct 2013 20:13:21 GMT"},
                                             {"cache-control", "private"},
                                             {":status", "302"}};
// ":status 307" evicted ":status 302" (the table holds 256 octets).
const std::vector<Header> kResponseTable2 = {{":status", "307"},
                                             {"location", "https://www.example.com"},
                                             {"date", "Mon, 21 Oct 2013 20:13:21 GMT"},
                                             {"cache-control", "private"}};
const std::vector<Header> kResponseTable3 = {
    {"set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"},
    {"content-encoding", "gzip"},
    {"date", "Mon, 21 Oct 2013 20:13:22 GMT"}};

TEST(HpackDecoderTest, C5ResponsesWithoutHuffmanEvict) {
  DecodeSeries(256, {
                        {"4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420"
                         "3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77"
                         "7777 2e65 7861 6d70 6c65 2e63 6f6d",
                         kResponse1, kResponseTable1, 222},
                        {"4803 3330 37c1 c0bf", kResponse2, kResponseTable2, 222},
                        {"88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32"
                         "3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a"
                         "584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33"
                         "3630 303b 2076 6572 7369 6f6e 3d31",
                         kResponse3, kResponseTable3, 215},
                    });
}

TEST(HpackDecoderTest, C6ResponsesWithHuffmanEvict) {
  DecodeSeries(256, {
                        {"4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81"
                         "66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
                         kResponse1, kResponseTable1, 222},
                        {"4883 640e ffc1 c0bf", kResponse2, kResponseTable2, 222},
                        {"88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a"
                         "839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36"
                         "72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
                         kResponse3, kResponseTable3, 215},
                    });
}

// --- Dynamic table size updates and eviction ---------------------------------------------------

TEST(HpackDecoderTest, SizeUpdateToZeroEmptiesTableAndDisablesIndexing) {
  HpackDecoder decoder;
  std::vector<Header> got;
  ASSERT_TRUE(decoder.Decode(Dehex("4003 6162 6301 78"), got).ok());  // abc: x, indexed
  ASSERT_THAT(decoder.DynamicTable(), ElementsAre(Header{"abc", "x"}));
  got.clear();
  ASSERT_TRUE(decoder.Decode(Dehex("20 4003 6465 6601 79"), got).ok());  // size 0; def: y
  EXPECT_THAT(got, ElementsAre(Header{"def", "y"}));
  EXPECT_THAT(decoder.DynamicTable(), IsEmpty());
  EXPECT_EQ(decoder.dynamic_table_size(), 0u);
}

TEST(HpackDecoderTest, SeveralSizeUpdatesAtStartAreAllowed) {
  HpackDecoder decoder;
  std::vector<Header> got;
  // 0, then 4096 (31 + 0x0fe1 = 4096 needs two continuation octets), then a field.
  ASSERT_TRUE(decoder.Decode(Dehex("20 3fe11f 4003 6162 6301 78"), got).ok());
  EXPECT_THAT(got, ElementsAre(Header{"abc", "x"}));
  EXPECT_THAT(decoder.DynamicTable(), ElementsAre(Header{"abc", "x"}));
}

TEST(HpackDecoderTest, SizeUpdateAloneIsAValidBlock) {
  HpackDecoder decoder;
  std::vector<Header> got;
  EXPECT_TRUE(decoder.Decode(Dehex("3f11"), got).ok());  // 48
  EXPECT_THAT(got, IsEmpty());
}

TEST(HpackDecoderTest, EntryLargerThanTableEmptiesIt) {
  HpackDecoder decoder(64);
  std::vector<Header> got;
  ASSERT_TRUE(decoder.Decode(Dehex("4001 6101 62"), got).ok());  // a: b, 34 octets
  ASSERT_EQ(decoder.dynamic_table_size(), 34u);
  // 40 octets of value: 1 + 40 + 32 > 64.
  const std::string big(40, 'v');
  ASSERT_TRUE(decoder.Decode(Dehex("4001 6128") + big, got).ok());
  EXPECT_THAT(decoder.DynamicTable(), IsEmpty());
  EXPECT_EQ(decoder.dynamic_table_size(), 0u);
  EXPECT_EQ(got.back(), (Header{"a", big}));
}

TEST(HpackDecoderTest, NewEntryMayNameTheEntryItEvicts) {
  HpackDecoder decoder(40);
  std::vector<Header> got;
  ASSERT_TRUE(decoder.Decode(Dehex("4003 6162 6301 78"), got).ok());  // abc: x, 36 octets
  // Literal with indexing, name = index 62 (abc), value "y": inserting it evicts abc: x.
  ASSERT_TRUE(decoder.Decode(Dehex("7e01 79"), got).ok());
  EXPECT_EQ(got.back(), (Header{"abc", "y"}));
  EXPECT_THAT(decoder.DynamicTable(), ElementsAre(Header{"abc", "y"}));
}

// --- Malformed blocks --------------------------------------------------------------------------

void ExpectMalformed(std::string_view block, std::string_view message, size_t max_table = 4096) {
  std::vector<Header> got = {{"kept", "1"}};
  absl::Status status = DecodeOnce(block, got, max_table);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr(message));
  EXPECT_THAT(got, ElementsAre(Header{"kept", "1"}));  // partial output is dropped
}

TEST(HpackDecoderTest, RejectsTruncatedInteger) {
  ExpectMalformed("\xff", "truncated integer");      // 7-bit prefix full, no continuation
  ExpectMalformed("\xff\x80", "truncated integer");  // continuation bit set on the last octet
}

TEST(HpackDecoderTest, RejectsIntegerOverflow) {
  // 127 + (2^28 - 1) + 15 * 2^28 = 2^32 + 126.
  ExpectMalformed(Dehex("ff ff ff ff ff 0f"), "integer overflows 32 bits");
  // Small value, but padded with more continuation octets than any 32-bit integer needs.
  ExpectMalformed(Dehex("ff 80 80 80 80 80 00"), "integer overflows 32 bits");
}

TEST(HpackDecoderTest, RejectsIndexZero) { ExpectMalformed("\x80", "index 0"); }

TEST(HpackDecoderTest, RejectsIndexPastTheTable) {
  ExpectMalformed("\xbe", "index 62 is past the end of the table (61 entries)");
  ExpectMalformed(Dehex("7f00 0178"), "index 63");  // literal naming index 63
  // One dynamic entry: 62 is fine, 63 is not.
  HpackDecoder decoder;
  std::vector<Header> got;
  ASSERT_TRUE(decoder.Decode(Dehex("4001 6101 62 be"), got).ok());
  EXPECT_THAT(got, ElementsAre(Header{"a", "b"}, Header{"a", "b"}));
  EXPECT_FALSE(decoder.Decode("\xbf", got).ok());
}

TEST(HpackDecoderTest, RejectsStringLongerThanBlock) {
  ExpectMalformed(Dehex("400a 6375 7374"), "string literal of 10 octets overruns the block");
  ExpectMalformed(Dehex("047f"), "truncated integer");            // value length prefix full
  ExpectMalformed(Dehex("4001 61"), "truncated string literal");  // new name, then no value
  ExpectMalformed(Dehex("4000"), "truncated string literal");     // no name string at all
}

TEST(HpackDecoderTest, RejectsEosInHuffmanString) {
  ExpectMalformed(Dehex("0485 ffff ffff fc"), "EOS");
}

TEST(HpackDecoderTest, RejectsBadHuffmanPadding) {
  ExpectMalformed(Dehex("0481 00"), "padding is not");                 // "0" + 3 zero bits
  ExpectMalformed(Dehex("0482 1fff"), "more than 7 bits of padding");  // "a" + 11 ones
}

TEST(HpackDecoderTest, RejectsSizeUpdateAboveMax) {
  ExpectMalformed(Dehex("3fe21f"), "exceeds our SETTINGS_HEADER_TABLE_SIZE 4096");  // 4097
  ExpectMalformed(Dehex("3f02"), "exceeds our SETTINGS_HEADER_TABLE_SIZE 32", 32);  // 33
}

TEST(HpackDecoderTest, RejectsSizeUpdateAfterField) {
  ExpectMalformed(Dehex("82 20"), "dynamic table size update after a header field");
}

TEST(HpackDecoderTest, RejectsHeaderListTooLarge) {
  // The amplification attack: one 4000-octet entry, then 300 one-octet references to it.
  HpackDecoder decoder;
  std::vector<Header> got;
  std::string block = Dehex("4001 78 7f a11e") + std::string(4000, 'v');  // x: 4000 octets
  block.append(300, '\xbe');
  absl::Status status = decoder.Decode(block, got);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("header list too large"));
  EXPECT_THAT(got, IsEmpty());

  // Just under the cap is fine: 200 * 4033 < 1 MiB.
  HpackDecoder ok_decoder;
  block.resize(block.size() - 100);
  EXPECT_TRUE(ok_decoder.Decode(block, got).ok());
  EXPECT_EQ(got.size(), 201u);
}

TEST(HpackDecoderTest, HeaderListCapIsConfigurable) {
  HpackDecoder decoder(4096, 100);
  std::vector<Header> got;
  EXPECT_TRUE(decoder.Decode(Dehex("82 86"), got).ok());  // 42 + 43 octets
  HpackDecoder small(4096, 80);
  EXPECT_THAT(small.Decode(Dehex("82 86"), got).message(), HasSubstr("header list too large"));
}

TEST(HpackDecoderTest, UnusableAfterError) {
  HpackDecoder decoder;
  std::vector<Header> got;
  EXPECT_EQ(decoder.Decode("\x80", got).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(decoder.Decode("\x82", got).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(got, IsEmpty());
}

// --- Huffman -----------------------------------------------------------------------------------

TEST(HuffmanTest, DecodesRfcStrings) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"f1e3 c2e5 f23a 6ba0 ab90 f4ff", "www.example.com"},
      {"a8eb 1064 9cbf", "no-cache"},
      {"25a8 49e9 5ba9 7d7f", "custom-key"},
      {"25a8 49e9 5bb8 e8b4 bf", "custom-value"},
      {"6402", "302"},
      {"aec3 771a 4b", "private"},
      {"d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff", "Mon, 21 Oct 2013 20:13:21 GMT"},
      {"9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3", "https://www.example.com"},
      {"9bd9 ab", "gzip"},
      {"94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0"
       "03ed 4ee5 b106 3d50 07",
       "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"},
  };
  for (const auto& [hex, want] : cases) {
    std::string got;
    ASSERT_TRUE(HuffmanDecode(Dehex(hex), got).ok()) << want;
    EXPECT_EQ(got, want);
    std::string encoded;
    HuffmanEncode(want, encoded);
    EXPECT_EQ(encoded, Dehex(hex)) << want;
  }
}

TEST(HuffmanTest, RoundTripsEveryByte) {
  std::string all;
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    std::string encoded;
    HuffmanEncode(one, encoded);
    std::string decoded;
    ASSERT_TRUE(HuffmanDecode(encoded, decoded).ok()) << b;
    EXPECT_EQ(decoded, one) << b;
    all.push_back(static_cast<char>(b));
  }
  // All 256 together, forwards and backwards, so codes straddle octets at every offset.
  for (const std::string& in : {all, std::string(all.rbegin(), all.rend())}) {
    std::string encoded;
    HuffmanEncode(in, encoded);
    std::string decoded;
    ASSERT_TRUE(HuffmanDecode(encoded, decoded).ok());
    EXPECT_EQ(decoded, in);
  }
}

TEST(HuffmanTest, EmptyString) {
  std::string encoded;
  HuffmanEncode("", encoded);
  EXPECT_EQ(encoded, "");
  std::string decoded;
  EXPECT_TRUE(HuffmanDecode("", decoded).ok());
  EXPECT_EQ(decoded, "");
}

TEST(HuffmanTest, AppendsToOutput) {
  std::string out = "x";
  ASSERT_TRUE(HuffmanDecode(Dehex("6402"), out).ok());
  EXPECT_EQ(out, "x302");
}

TEST(HuffmanTest, RejectsEos) {
  std::string out;
  absl::Status status = HuffmanDecode(Dehex("ffff ffff fc"), out);  // EOS, "?"
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("EOS symbol inside a string literal"));
}

TEST(HuffmanTest, RejectsPaddingLongerThanSevenBits) {
  for (const char* hex : {"ff", "1fff", "1fffff", "1fffffff", "ff9fffffff"}) {
    std::string out;
    absl::Status status = HuffmanDecode(Dehex(hex), out);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << hex;
    EXPECT_THAT(status.message(), HasSubstr("more than 7 bits of padding")) << hex;
  }
  // Padding that ends inside a (non-EOS) symbol: 'R' 0xbc '0' then ones.
  std::string out;
  EXPECT_FALSE(HuffmanDecode(Dehex("52bc 30ff ffff ff"), out).ok());
}

TEST(HuffmanTest, RejectsPaddingThatIsNotOnes) {
  std::string out;
  absl::Status status = HuffmanDecode(std::string(1, '\0'), out);  // "0" then 000
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("padding is not a prefix of EOS"));
  // "a" (00011) followed by 110: neither a code nor all ones.
  EXPECT_FALSE(HuffmanDecode("\x1e", out).ok());
}

TEST(HuffmanTest, AcceptsUpToSevenBitsOfOnesAsPadding) {
  // '0' is 00000, 'a' 00011, '%' 010101.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"07", "0"},                 // 5 bits + 3 ones
      {"003f", "00"},              // 10 bits + 6 ones
      {"0000007f", "00000"},       // 25 bits + 7 ones
      {"547f", "%a"},              // 11 bits + 5 ones
      {"0000000000", "00000000"},  // 40 bits, no padding at all
  };
  for (const auto& [hex, want] : cases) {
    std::string out;
    ASSERT_TRUE(HuffmanDecode(Dehex(hex), out).ok()) << hex;
    EXPECT_EQ(out, want);
  }
}

// --- HpackEncode -------------------------------------------------------------------------------

const std::vector<Header> kGrpcRequest = {
    {":method", "POST"},
    {":scheme", "http"},
    {":path", "/containerd.services.version.v1.Version/Version"},
    {":authority", "localhost"},
    {"content-type", "application/grpc"},
    {"te", "trailers"},
    {"containerd-namespace", "default"},
    {"grpc-timeout", "30S"},
};

TEST(HpackEncodeTest, GrpcRequestRoundTrips) {
  std::string block;
  HpackEncode(kGrpcRequest, block);
  HpackDecoder decoder;
  std::vector<Header> got;
  ASSERT_TRUE(decoder.Decode(block, got).ok());
  EXPECT_THAT(got, ElementsAreArray(kGrpcRequest));
  EXPECT_THAT(decoder.DynamicTable(), IsEmpty());  // stateless: nothing was indexed

  // A second block decodes the same on the same decoder.
  got.clear();
  ASSERT_TRUE(decoder.Decode(block, got).ok());
  EXPECT_THAT(got, ElementsAreArray(kGrpcRequest));
}

TEST(HpackEncodeTest, UsesStaticNameIndexWithoutIndexing) {
  std::string block;
  HpackEncode({{":method", "POST"}}, block);
  EXPECT_EQ(block, Dehex("02 04") + "POST");  // 0000 0010: name index 2 (":method"), raw "POST"
  block.clear();
  HpackEncode({{"content-type", "application/grpc"}}, block);
  EXPECT_EQ(block, Dehex("0f 10 10") + "application/grpc");  // index 31 = 15 + 16
  block.clear();
  HpackEncode({{"te", "trailers"}}, block);
  EXPECT_EQ(block, Dehex("00 02") + "te" + Dehex("08") + "trailers");  // not in the table
}

TEST(HpackEncodeTest, LongAndBinaryValuesRoundTrip) {
  std::string binary;
  for (int b = 0; b < 256; ++b) {
    binary.push_back(static_cast<char>(b));
  }
  const std::vector<Header> headers = {
      {"grpc-status-details-bin", binary},
      {"x-long", std::string(100000, 'a')},
      {"empty", ""},
      {std::string(300, 'n'), "v"},
  };
  std::string block;
  HpackEncode(headers, block);
  std::vector<Header> got;
  ASSERT_TRUE(DecodeOnce(block, got).ok());
  EXPECT_THAT(got, ElementsAreArray(headers));
}

}  // namespace
}  // namespace berth::http2
