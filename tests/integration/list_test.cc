// Containers.List and ListStream pass stored records through as wire bytes (no parse, no
// re-serialize); this checks that what arrives is exactly what Get returns, for every record,
// with and without filters, including records larger than the server's 256 KiB buffer chunks.

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/integration/integration_util.h"

namespace berth::testutil {
namespace {

using google::protobuf::util::MessageDifferencer;

class ListTest : public DaemonTest {
 protected:
  // 300 containers; every 50th carries a spec of 300 KiB, so records straddle chunk ends.
  void CreateMany() {
    for (int i = 0; i < 300; ++i) {
      std::string id = absl::StrCat("c", 1000 + i);
      containers_api::Container c = TestContainer(id, {{"parity", i % 2 ? "odd" : "even"}});
      if (i % 50 == 7) c.mutable_spec()->set_value(TestSpecJson(std::string(300 << 10, 'h')));
      containers_api::Container created;
      ASSERT_TRUE(CreateContainer(*containers_, "default", c, &created).ok()) << id;
      stored_[id] = created;
    }
  }

  std::vector<containers_api::Container> List(const std::vector<std::string>& filters) {
    auto context = NamespacedContext("default");
    containers_api::ListContainersRequest request;
    for (const std::string& f : filters) request.add_filters(f);
    containers_api::ListContainersResponse response;
    grpc::Status status = containers_->List(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.containers().begin(), response.containers().end()};
  }

  std::vector<containers_api::Container> ListStream(const std::vector<std::string>& filters) {
    auto context = NamespacedContext("default");
    containers_api::ListContainersRequest request;
    for (const std::string& f : filters) request.add_filters(f);
    auto reader = containers_->ListStream(context.get(), request);
    std::vector<containers_api::Container> out;
    containers_api::ListContainerMessage message;
    while (reader->Read(&message)) out.push_back(message.container());
    grpc::Status status = reader->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }

  // The listed records are exactly the stored ones selected by `want`, in id order.
  template <typename Want>
  void ExpectExactly(const std::vector<containers_api::Container>& listed, Want want) {
    std::vector<std::string> expected_ids;
    for (const auto& [id, c] : stored_) {
      if (want(c)) expected_ids.push_back(id);
    }
    std::vector<std::string> ids;
    for (const auto& c : listed) {
      ids.push_back(c.id());
      auto it = stored_.find(c.id());
      ASSERT_NE(it, stored_.end()) << c.id();
      EXPECT_TRUE(MessageDifferencer::Equals(c, it->second)) << c.id();
    }
    EXPECT_EQ(ids, expected_ids);
  }

  std::map<std::string, containers_api::Container> stored_;
};

TEST_F(ListTest, ListAndListStreamReturnTheStoredRecords) {
  ASSERT_NO_FATAL_FAILURE(CreateMany());
  auto all = [](const containers_api::Container&) { return true; };
  auto odd = [](const containers_api::Container& c) { return c.labels().at("parity") == "odd"; };
  ExpectExactly(List({}), all);
  ExpectExactly(ListStream({}), all);
  ExpectExactly(List({"labels.parity==odd"}), odd);
  ExpectExactly(ListStream({"labels.parity==odd"}), odd);
  // Two filters are ORed, as in containerd.
  auto two = [](const containers_api::Container& c) { return c.id() == "c1007" || c.id() == "c1299"; };
  ExpectExactly(List({"id==c1007", "id==c1299"}), two);
  ExpectExactly(ListStream({"id==c1007", "id==c1299"}), two);
  EXPECT_TRUE(List({"id==nope"}).empty());
  EXPECT_TRUE(ListStream({"id==nope"}).empty());
  ExpectHealthy();
}

TEST_F(ListTest, ClientGoneMidStreamLeavesTheDaemonServing) {
  ASSERT_NO_FATAL_FAILURE(CreateMany());
  for (int i = 0; i < 5; ++i) {
    auto context = NamespacedContext("default");
    auto reader = containers_->ListStream(context.get(), {});
    containers_api::ListContainerMessage message;
    ASSERT_TRUE(reader->Read(&message));
    context->TryCancel();
    while (reader->Read(&message)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_EQ(ListStream({}).size(), 300u);
  ExpectHealthy();
}

}  // namespace
}  // namespace berth::testutil
