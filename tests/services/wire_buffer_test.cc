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
std::vector<std::string> Unframe(const std::string& framed) {
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
  EXPECT_EQ(Unframe(std::move(wire).FinishFramed()),
            std::vector<std::string>{expected.SerializeAsString()});
}

TEST(WireBufferTest, MessagesMatchProtobufOneByOne) {
  std::vector<api::Container> records = Records();
  WireBuffer wire;
  for (const api::Container& c : records) {
    wire.AppendBytesField(api::ListContainerMessage::kContainerFieldNumber, c.SerializeAsString());
    wire.EndMessage();
  }
  std::vector<std::string> messages = Unframe(std::move(wire).FinishFramed());
  ASSERT_EQ(messages.size(), records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    api::ListContainerMessage expected;
    *expected.mutable_container() = records[i];
    EXPECT_EQ(messages[i], expected.SerializeAsString()) << "message " << i;
  }
}

TEST(WireBufferTest, EmptyMessageIsFramedAndUnendedBytesAreDropped) {
  EXPECT_EQ(WireBuffer().FinishFramed(), "");
  WireBuffer wire;
  wire.EndMessage();
  wire.AppendBytesField(1, "not ended");
  EXPECT_EQ(std::move(wire).FinishFramed(), std::string(5, '\0'));
}

}  // namespace
}  // namespace berth::services
