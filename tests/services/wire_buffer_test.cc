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

std::string Bytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string out;
  for (const grpc::Slice& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
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
  EXPECT_EQ(Bytes(std::move(wire).Finish()), expected.SerializeAsString());
}

TEST(WireBufferTest, MessagesMatchProtobufOneByOne) {
  std::vector<api::Container> records = Records();
  WireBuffer wire;
  for (const api::Container& c : records) {
    wire.AppendBytesField(api::ListContainerMessage::kContainerFieldNumber, c.SerializeAsString());
    wire.EndMessage();
  }
  std::vector<grpc::ByteBuffer> messages = std::move(wire).FinishMessages();
  ASSERT_EQ(messages.size(), records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    api::ListContainerMessage expected;
    *expected.mutable_container() = records[i];
    EXPECT_EQ(Bytes(messages[i]), expected.SerializeAsString()) << "message " << i;
  }
}

TEST(WireBufferTest, EmptyBufferFinishesEmpty) {
  EXPECT_EQ(Bytes(WireBuffer().Finish()), "");
  EXPECT_TRUE(WireBuffer().FinishMessages().empty());
}

}  // namespace
}  // namespace berth::services
