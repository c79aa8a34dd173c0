// The Snapshots gRPC service of a running berthd: every method, containerd's error codes,
// namespaces isolation, lease resources and /snapshot/* events.

#include "containerd/events/snapshot.pb.h"
#include "containerd/services/events/v1/events.grpc.pb.h"
#include "containerd/services/leases/v1/leases.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/snapshots_service/snapshots_util.h"
#include "tests/testutil/test_daemon.h"

namespace berth::testutil {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

class SnapshotsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // These snapshots are held by nothing (no lease, container or image), so the collector
    // may take them; its start-up run is put off, so it cannot race the test.
    DaemonOptions options;
    options.config_text =
        "version = 2\n[plugins.\"io.containerd.gc.v1.scheduler\"]\nstartup_delay = \"1h\"\n";
    auto daemon = TestDaemon::Start(options);
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = std::move(*daemon);
    channel_ = daemon_->NewChannel();
    stub_ = snapshots_api::Snapshots::NewStub(channel_);
  }

  grpc::Status Prepare(const std::string& key, const std::string& parent,
                       const std::string& ns = "default", const std::string& sn = "native",
                       snapshots_api::PrepareSnapshotResponse* out = nullptr) {
    auto context = NamespacedContext(ns);
    snapshots_api::PrepareSnapshotRequest request;
    request.set_snapshotter(sn);
    request.set_key(key);
    request.set_parent(parent);
    (*request.mutable_labels())["l"] = "v";
    snapshots_api::PrepareSnapshotResponse response;
    return stub_->Prepare(context.get(), request, out != nullptr ? out : &response);
  }
  grpc::Status Commit(const std::string& name, const std::string& key,
                      const std::string& ns = "default") {
    auto context = NamespacedContext(ns);
    snapshots_api::CommitSnapshotRequest request;
    request.set_snapshotter("native");
    request.set_name(name);
    request.set_key(key);
    google::protobuf::Empty response;
    return stub_->Commit(context.get(), request, &response);
  }
  grpc::Status Remove(const std::string& key, const std::string& ns = "default") {
    auto context = NamespacedContext(ns);
    snapshots_api::RemoveSnapshotRequest request;
    request.set_snapshotter("native");
    request.set_key(key);
    google::protobuf::Empty response;
    return stub_->Remove(context.get(), request, &response);
  }
  std::vector<std::string> List(const std::string& filter, const std::string& ns = "default") {
    auto context = NamespacedContext(ns);
    snapshots_api::ListSnapshotsRequest request;
    request.set_snapshotter("native");
    if (!filter.empty()) request.add_filters(filter);
    auto reader = stub_->List(context.get(), request);
    snapshots_api::ListSnapshotsResponse batch;
    std::vector<std::string> names;
    while (reader->Read(&batch)) {
      for (const auto& info : batch.info()) names.push_back(info.name());
    }
    EXPECT_TRUE(reader->Finish().ok());
    return names;
  }

  std::unique_ptr<TestDaemon> daemon_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<snapshots_api::Snapshots::Stub> stub_;
};

TEST_F(SnapshotsServiceTest, LifecycleAndErrors) {
  snapshots_api::PrepareSnapshotResponse prepared;
  ASSERT_TRUE(Prepare("base-active", "", "default", "native", &prepared).ok());
  ASSERT_EQ(prepared.mounts_size(), 1);
  EXPECT_EQ(prepared.mounts(0).type(), "bind");
  EXPECT_EQ(Prepare("base-active", "").error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Prepare("x", "missing").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Prepare("x", "", "default", "").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Prepare("x", "", "default", "nope").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(Commit("base", "base-active").ok());
  EXPECT_EQ(Commit("base", "base-active").error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(Prepare("child", "base").ok());

  auto context = NamespacedContext("default");
  snapshots_api::StatSnapshotRequest stat;
  stat.set_snapshotter("native");
  stat.set_key("child");
  snapshots_api::StatSnapshotResponse info;
  ASSERT_TRUE(stub_->Stat(context.get(), stat, &info).ok());
  EXPECT_EQ(info.info().parent(), "base");
  EXPECT_EQ(info.info().kind(), snapshots_api::ACTIVE);
  EXPECT_EQ(info.info().labels().at("l"), "v");

  snapshots_api::UpdateSnapshotRequest update;
  update.set_snapshotter("native");
  update.mutable_info()->set_name("child");
  (*update.mutable_info()->mutable_labels())["new"] = "1";
  update.mutable_update_mask()->add_paths("labels.new");
  snapshots_api::UpdateSnapshotResponse updated;
  context = NamespacedContext("default");
  ASSERT_TRUE(stub_->Update(context.get(), update, &updated).ok());
  EXPECT_EQ(updated.info().labels().size(), 2u);
  update.mutable_update_mask()->set_paths(0, "parent");
  context = NamespacedContext("default");
  EXPECT_EQ(stub_->Update(context.get(), update, &updated).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  snapshots_api::UsageRequest usage;
  usage.set_snapshotter("native");
  usage.set_key("base");
  snapshots_api::UsageResponse used;
  context = NamespacedContext("default");
  EXPECT_TRUE(stub_->Usage(context.get(), usage, &used).ok());

  snapshots_api::MountsRequest mounts;
  mounts.set_snapshotter("native");
  mounts.set_key("base");
  snapshots_api::MountsResponse mounted;
  context = NamespacedContext("default");
  EXPECT_EQ(stub_->Mounts(context.get(), mounts, &mounted).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  EXPECT_THAT(List(""), UnorderedElementsAre("base", "child"));
  EXPECT_THAT(List("kind==committed"), UnorderedElementsAre("base"));
  EXPECT_THAT(List("parent==base"), UnorderedElementsAre("child"));
  EXPECT_THAT(List("labels.new==1"), UnorderedElementsAre("child"));

  grpc::Status busy = Remove("base");
  EXPECT_EQ(busy.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(busy.error_message(), HasSubstr("child"));
  EXPECT_TRUE(Remove("child").ok());
  EXPECT_TRUE(Remove("base").ok());
  EXPECT_EQ(Remove("base").error_code(), grpc::StatusCode::NOT_FOUND);

  snapshots_api::CleanupRequest cleanup;
  cleanup.set_snapshotter("native");
  google::protobuf::Empty empty;
  context = NamespacedContext("default");
  EXPECT_TRUE(stub_->Cleanup(context.get(), cleanup, &empty).ok());
}

TEST_F(SnapshotsServiceTest, NamespacesAreIsolated) {
  ASSERT_TRUE(Prepare("same", "", "ns1").ok());
  ASSERT_TRUE(Prepare("same", "", "ns2").ok());
  EXPECT_THAT(List("", "ns1"), UnorderedElementsAre("same"));
  ASSERT_TRUE(Remove("same", "ns1").ok());
  EXPECT_TRUE(List("", "ns1").empty());
  EXPECT_THAT(List("", "ns2"), UnorderedElementsAre("same"));
  auto context = NamespacedContext("");
  snapshots_api::StatSnapshotRequest stat;
  stat.set_snapshotter("native");
  stat.set_key("same");
  snapshots_api::StatSnapshotResponse info;
  EXPECT_EQ(stub_->Stat(context.get(), stat, &info).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(SnapshotsServiceTest, LeaseHeaderAddsSnapshots) {
  namespace leases_api = containerd::services::leases::v1;
  auto leases = leases_api::Leases::NewStub(channel_);
  auto context = NamespacedContext("default");
  leases_api::CreateRequest create;
  create.set_id("l1");
  leases_api::CreateResponse created;
  ASSERT_TRUE(leases->Create(context.get(), create, &created).ok());

  context = NamespacedContext("default");
  context->AddMetadata("containerd-lease", "l1");
  snapshots_api::PrepareSnapshotRequest request;
  request.set_snapshotter("native");
  request.set_key("leased");
  snapshots_api::PrepareSnapshotResponse response;
  ASSERT_TRUE(stub_->Prepare(context.get(), request, &response).ok());

  context = NamespacedContext("default");
  leases_api::ListResourcesRequest list;
  list.set_id("l1");
  leases_api::ListResourcesResponse resources;
  ASSERT_TRUE(leases->ListResources(context.get(), list, &resources).ok());
  ASSERT_EQ(resources.resources_size(), 1);
  EXPECT_EQ(resources.resources(0).type(), "snapshots/native");
  EXPECT_EQ(resources.resources(0).id(), "leased");

  context = NamespacedContext("default");
  context->AddMetadata("containerd-lease", "nope");
  request.set_key("leased2");
  EXPECT_EQ(stub_->Prepare(context.get(), request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(SnapshotsServiceTest, PublishesEvents) {
  namespace events_api = containerd::services::events::v1;
  auto events = events_api::Events::NewStub(channel_);
  grpc::ClientContext context;
  events_api::SubscribeRequest subscribe;
  subscribe.add_filters("topic~=\"/snapshot/\"");
  auto reader = events->Subscribe(&context, subscribe);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE(Prepare("k", "").ok());
  ASSERT_TRUE(Commit("n", "k").ok());
  ASSERT_TRUE(Remove("n").ok());
  std::vector<std::string> topics;
  events_api::Envelope envelope;
  while (topics.size() < 3 && reader->Read(&envelope)) topics.push_back(envelope.topic());
  context.TryCancel();
  EXPECT_EQ(topics, (std::vector<std::string>{"/snapshot/prepare", "/snapshot/commit",
                                              "/snapshot/remove"}));
}

}  // namespace
}  // namespace berth::testutil
