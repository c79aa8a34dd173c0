#include "runtime/ttrpc/frame.h"

#include <string>

#include "gtest/gtest.h"

namespace berth::ttrpc {
namespace {

TEST(FrameTest, HeaderIsBigEndianTenBytes) {
  char bytes[kFrameHeaderSize];
  EncodeFrameHeader({0x01020304, 0x0a0b0c0d, MessageType::kResponse, kFlagRemoteClosed}, bytes);
  EXPECT_EQ(std::string(bytes, kFrameHeaderSize),
            std::string("\x01\x02\x03\x04\x0a\x0b\x0c\x0d\x02\x01", 10));
  FrameHeader header = DecodeFrameHeader(bytes);
  EXPECT_EQ(header.length, 0x01020304u);
  EXPECT_EQ(header.stream_id, 0x0a0b0c0du);
  EXPECT_EQ(header.type, MessageType::kResponse);
  EXPECT_EQ(header.flags, kFlagRemoteClosed);
}

TEST(FrameTest, HighBitValuesRoundTrip) {
  FrameHeader in{kMaxMessageSize, 0xfffffffd, MessageType::kData, 0xff};
  char bytes[kFrameHeaderSize];
  EncodeFrameHeader(in, bytes);
  EXPECT_EQ(DecodeFrameHeader(bytes), in);
}

TEST(FrameTest, EncodeFrameThenReadBackByteByByte) {
  absl::StatusOr<std::string> a = EncodeFrame(1, MessageType::kRequest, 0, "hello");
  absl::StatusOr<std::string> b = EncodeFrame(3, MessageType::kRequest, 0, "");
  absl::StatusOr<std::string> c = EncodeFrame(5, MessageType::kData, kFlagNoData, "xyz");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  std::string wire = *a + *b + *c;
  FrameReader reader;
  std::vector<Frame> frames;
  for (char ch : wire) {
    reader.Append(absl::string_view(&ch, 1));
    while (true) {
      absl::StatusOr<std::optional<Frame>> next = reader.Next();
      ASSERT_TRUE(next.ok()) << next.status();
      if (!next->has_value()) break;
      frames.push_back(**next);
    }
  }
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].header.stream_id, 1u);
  EXPECT_EQ(frames[0].payload, "hello");
  EXPECT_EQ(frames[1].header.stream_id, 3u);
  EXPECT_EQ(frames[1].payload, "");
  EXPECT_EQ(frames[2].header.type, MessageType::kData);
  EXPECT_EQ(frames[2].header.flags, kFlagNoData);
  EXPECT_EQ(frames[2].payload, "xyz");
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(FrameTest, ManyFramesInOneChunk) {
  std::string wire;
  for (uint32_t id = 1; id < 200; id += 2) {
    wire += *EncodeFrame(id, MessageType::kResponse, 0, std::string(id, 'a'));
  }
  FrameReader reader;
  reader.Append(wire);
  uint32_t expected = 1;
  while (true) {
    auto next = reader.Next();
    ASSERT_TRUE(next.ok());
    if (!next->has_value()) break;
    EXPECT_EQ((*next)->header.stream_id, expected);
    EXPECT_EQ((*next)->payload.size(), expected);
    expected += 2;
  }
  EXPECT_EQ(expected, 201u);
}

TEST(FrameTest, MaximumSizeIsAccepted) {
  std::string payload(kMaxMessageSize, 'x');
  absl::StatusOr<std::string> frame = EncodeFrame(1, MessageType::kRequest, 0, payload);
  ASSERT_TRUE(frame.ok());
  FrameReader reader;
  reader.Append(*frame);
  auto next = reader.Next();
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ((*next)->payload.size(), kMaxMessageSize);
}

TEST(FrameTest, OversizedFrameIsRejected) {
  EXPECT_EQ(EncodeFrame(1, MessageType::kRequest, 0, std::string(kMaxMessageSize + 1, 'x'))
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);

  char header[kFrameHeaderSize];
  EncodeFrameHeader({kMaxMessageSize + 1, 7, MessageType::kRequest, 0}, header);
  FrameReader reader;
  reader.Append(absl::string_view(header, kFrameHeaderSize));
  auto next = reader.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(next.status().message().find("exceeds maximum message size of 4194304"),
            absl::string_view::npos)
      << next.status();
  EXPECT_EQ(reader.oversized_header().stream_id, 7u);
  EXPECT_FALSE(reader.Next().ok());  // Stays failed.
}

}  // namespace
}  // namespace berth::ttrpc
