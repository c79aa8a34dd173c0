// WireBuffer writes protobuf wire bytes by hand; these compare them with what protobuf itself
// serializes, for records small and large (crossing the 256 KiB chunk ends) and empty ones.

#include "services/common/wire_buffer.h"

#include <random>
#include <string>
#include <vector>

#include "containerd/services/containers/v1/containers.pb.h"
#include "gtest/gtest.h"

namespace berth::services {
namespace {

namespace api = containerd::services::containers::v1;

// The messages of gRPC's length-prefixed form; a malformed prefix fails the test.
std::vector<std::string> Unframe(const FramedReply& reply) {
  std::string framed;
  for (const std::string& piece : reply.pieces) framed += piece;
  std::vector<std::string> messages;
  for (size_t at = 0; at < framed.size();) {
    EXPECT_LE(at + 5, framed.size());
    EXPECT_EQ(framed[at], '\0') << "compressed flag";
    size_t length = 0;
    for (int i = 1; i <= 4; ++i) length = (length << 8) | static_cast<uint8_t>(framed[at + i]);
    EXPECT_LE(at + 5 + length, framed.size());
    messages.push_back(framed.substr(at + 5, length));
    at += 5 + length;
  }
  return messages;
}

std::vector<api::Container> Records() {
  std::mt19937 rng(7);
  std::vector<api::Container> records;
  for (int i = 0; i < 40; ++i) {
    api::Container c;
    if (i % 10 != 3) c.set_id("c" + std::to_string(i));  // every tenth: an empty record
    if (i % 10 != 3) c.mutable_spec()->set_value(std::string(rng() % (600 << 10), 'x'));
    records.push_back(c);
  }
  return records;
}

TEST(WireBufferTest, OneMessageMatchesProtobuf) {
  api::ListContainersResponse expected;
  WireBuffer wire;
  for (const api::Container& c : Records()) {
    *expected.add_containers() = c;
    wire.AppendBytesField(api::ListContainersResponse::kContainersFieldNumber, c.SerializeAsString());
  }
  EXPECT_EQ(wire.size(), expected.ByteSizeLong());
  wire.EndMessage();
  FramedReply reply = std::move(wire).Finish();
  EXPECT_GT(reply.pieces.size(), 1u) << "the records should span chunks";
  EXPECT_EQ(reply.largest_message, expected.ByteSizeLong());
  EXPECT_EQ(Unframe(reply), std::vector<std::string>{expected.SerializeAsString()});
}

TEST(WireBufferTest, MessagesMatchProtobufOneByOne) {
  std::vector<api::Container> records = Records();
  WireBuffer wire;
  for (const api::Container& c : records) {
    wire.AppendBytesField(api::ListContainerMessage::kContainerFieldNumber, c.SerializeAsString());
    wire.EndMessage();
  }
  std::vector<std::string> messages = Unframe(std::move(wire).Finish());
  ASSERT_EQ(messages.size(), records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    api::ListContainerMessage expected;
    *expected.mutable_container() = records[i];
    EXPECT_EQ(messages[i], expected.SerializeAsString()) << "message " << i;
  }
}

TEST(WireBufferTest, EmptyMessageIsFramedAndUnendedBytesAreDropped) {
  EXPECT_TRUE(WireBuffer().Finish().pieces.empty());
  WireBuffer wire(8);  // small chunks: the dropped bytes span several
  wire.EndMessage();
  wire.AppendBytesField(1, "not ended, and longer than a chunk");
  EXPECT_EQ(Unframe(std::move(wire).Finish()), std::vector<std::string>{""});
}

TEST(WireBufferTest, PrefixesSpanningChunksAreFilledIn) {
  // 3-byte chunks: every prefix and field straddles chunk ends.
  WireBuffer wire(3);
  std::vector<std::string> expected;
  for (int i = 0; i < 20; ++i) {
    api::ListContainerMessage message;
    message.mutable_container()->set_id(std::string(i * 7, 'a' + i % 26));
    wire.AppendBytesField(api::ListContainerMessage::kContainerFieldNumber,
                          message.container().SerializeAsString());
    wire.EndMessage();
    expected.push_back(message.SerializeAsString());
  }
  EXPECT_EQ(Unframe(std::move(wire).Finish()), expected);
}

}  // namespace
}  // namespace berth::services
