#pragma once

// Shared pieces of the integration tests: the daemon fixture, containers as containerd's clients
// write them (spec as JSON under the OCI type URL), and small text helpers.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "containerd/services/containers/v1/containers.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testutil/grpc_client.h"
#include "tests/testutil/test_daemon.h"

namespace berth::testutil {

namespace containers_api = containerd::services::containers::v1;

inline constexpr char kSpecTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
inline constexpr char kRuncV2[] = "io.containerd.runc.v2";

// A small OCI spec that survives a round trip through the Go runtime-spec types unchanged.
inline std::string TestSpecJson(const std::string& hostname = "berth-test") {
  return R"({"ociVersion":"1.0.2-dev","process":{"user":{"uid":0,"gid":0},"args":["/bin/sh","-c","true"],"cwd":"/"},"root":{"path":"rootfs"},"hostname":")" +
         hostname + R"("})";
}

inline containers_api::Container TestContainer(const std::string& id,
                                               const std::map<std::string, std::string>& labels = {},
                                               const std::string& image = "") {
  containers_api::Container c;
  c.set_id(id);
  c.set_image(image);
  c.mutable_runtime()->set_name(kRuncV2);
  c.mutable_spec()->set_type_url(kSpecTypeUrl);
  c.mutable_spec()->set_value(TestSpecJson());
  for (const auto& [k, v] : labels) (*c.mutable_labels())[k] = v;
  return c;
}

inline grpc::Status CreateContainer(containers_api::Containers::Stub& stub, const std::string& ns,
                                    const containers_api::Container& container,
                                    containers_api::Container* created = nullptr) {
  auto context = NamespacedContext(ns);
  containers_api::CreateContainerRequest request;
  *request.mutable_container() = container;
  containers_api::CreateContainerResponse response;
  grpc::Status status = stub.Create(context.get(), request, &response);
  if (created != nullptr) *created = response.container();
  return status;
}

// Ids of every container in `ns` (List), or the call's error.
inline grpc::Status ListContainerIds(containers_api::Containers::Stub& stub, const std::string& ns,
                                     std::vector<std::string>& ids) {
  auto context = NamespacedContext(ns);
  containers_api::ListContainersRequest request;
  containers_api::ListContainersResponse response;
  grpc::Status status = stub.List(context.get(), request, &response);
  ids.clear();
  for (const auto& c : response.containers()) ids.push_back(c.id());
  return status;
}

// Rows of a ctr table (tabwriter output): each line after the header split on whitespace.
inline std::vector<std::vector<std::string>> TableRows(const std::string& out) {
  std::vector<std::vector<std::string>> rows;
  bool header = true;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipWhitespace())) {
    if (header) {
      header = false;
      continue;
    }
    std::vector<std::string> cells =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipWhitespace());
    rows.push_back(std::move(cells));
  }
  return rows;
}

// Fixture: a fresh berthd per test.
class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestDaemon>> daemon = TestDaemon::Start();
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
    channel_ = daemon_->NewChannel();
    containers_ = containers_api::Containers::NewStub(channel_);
  }

  void ExpectHealthy() {
    EXPECT_TRUE(daemon_->Running()) << "berthd died";
    EXPECT_TRUE(daemon_->Healthy()) << "berthd does not answer health checks";
  }

  std::unique_ptr<TestDaemon> daemon_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<containers_api::Containers::Stub> containers_;
};

}  // namespace berth::testutil
