// Builds against the generated C++ (berth::proto) so the include paths, the C++20 keyword
// fix-up and the gRPC stubs are exercised, not just the .proto files.

#include "containerd/events/task.pb.h"
#include "containerd/runtime/runc/v1/options.pb.h"
#include "containerd/runtime/task/v2/shim.pb.h"
#include "containerd/services/containers/v1/containers.grpc.pb.h"
#include "containerd/services/content/v1/content.grpc.pb.h"
#include "containerd/services/introspection/v1/introspection.grpc.pb.h"
#include "containerd/services/tasks/v1/tasks.grpc.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace berth::proto_test {
namespace {

TEST(GeneratedCodeTest, MessagesCarryContainerdFullNames) {
  EXPECT_EQ(containerd::services::containers::v1::Container::descriptor()->full_name(),
            "containerd.services.containers.v1.Container");
  EXPECT_EQ(containerd::events::TaskExit::descriptor()->full_name(), "containerd.events.TaskExit");
  EXPECT_EQ(containerd::runc::v1::Options::descriptor()->full_name(), "containerd.runc.v1.Options");
  EXPECT_EQ(containerd::task::v2::StateResponse::descriptor()->full_name(),
            "containerd.task.v2.StateResponse");
  EXPECT_EQ(google::rpc::Status::descriptor()->full_name(), "google.rpc.Status");
}

TEST(GeneratedCodeTest, ServiceNamesMatchContainerd) {
  EXPECT_STREQ(containerd::services::containers::v1::Containers::service_full_name(),
               "containerd.services.containers.v1.Containers");
  EXPECT_STREQ(containerd::services::tasks::v1::Tasks::service_full_name(),
               "containerd.services.tasks.v1.Tasks");
}

TEST(GeneratedCodeTest, RequiresFieldIsUsableInCxx20) {
  containerd::services::introspection::v1::Plugin plugin;
  plugin.add_requires("io.containerd.metadata.v1");
  plugin.mutable_init_err()->set_code(9);
  ASSERT_EQ(plugin.requires_size(), 1);
  EXPECT_EQ(plugin.requires_(0), "io.containerd.metadata.v1");
}

TEST(GeneratedCodeTest, RoundTripsOnTheWire) {
  containerd::services::content::v1::WriteContentRequest request;
  request.set_action(containerd::services::content::v1::COMMIT);
  request.set_ref("ref");
  (*request.mutable_labels())["a"] = "b";
  containerd::services::content::v1::WriteContentRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(request.SerializeAsString()));
  EXPECT_EQ(parsed.action(), containerd::services::content::v1::COMMIT);
  EXPECT_EQ(parsed.labels().at("a"), "b");
}

}  // namespace
}  // namespace berth::proto_test
