// berthctl's own gRPC client against Debian's containerd 1.6 (temp root, state and socket):
// Go's HTTP/2 server Huffman-codes and indexes its headers and has its own flow control, so
// this is the client's second implementation to agree with, besides gRPC C++ (call_test.cc).

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "containerd/services/content/v1/content.pb.h"
#include "containerd/services/introspection/v1/introspection.pb.h"
#include "containerd/services/namespaces/v1/namespaces.pb.h"
#include "containerd/services/version/v1/version.pb.h"
#include "ctl/rpc/call.h"
#include "ctl/rpc/connection.h"
#include "google/protobuf/empty.pb.h"
#include "gtest/gtest.h"
#include "plugins/base/file_util.h"
#include "tests/testutil/process.h"
#include "tests/testutil/test_daemon.h"

namespace berth::ctl::rpc {
namespace {

namespace namespaces = containerd::services::namespaces::v1;

class ContainerdInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/usr/bin/containerd", X_OK) != 0) GTEST_SKIP() << "containerd is not installed";
    char tmpl[] = "/tmp/berth-ctl-ctrd-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    const std::string socket = dir_ + "/containerd.sock";
    const std::string config = testutil::TempContainerdConfig(dir_, socket);
    ASSERT_TRUE(WriteFileAtomic(dir_ + "/config.toml", config).ok());
    auto containerd = testutil::BackgroundProcess::Start(
        {"/usr/bin/containerd", "--config", dir_ + "/config.toml"});
    ASSERT_TRUE(containerd.ok()) << containerd.status();
    containerd_ = *std::move(containerd);
    for (int i = 0; i < 100 && connection_ == nullptr; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      auto connection = http2::Connection::Dial(socket);
      if (connection.ok()) connection_ = std::move(*connection);
    }
    ASSERT_NE(connection_, nullptr) << containerd_->Stderr();
  }

  void TearDown() override {
    connection_.reset();
    if (containerd_ != nullptr) containerd_->Kill(SIGTERM);
    if (!dir_.empty()) testutil::RemoveTree(dir_);
  }

  template <class Request, class Response>
  absl::Status Unary(const char* path, const Request& request, Response* response) {
    CallOptions options;
    options.metadata.push_back({"containerd-namespace", "ctl-interop"});
    options.deadline = http2::Clock::now() + std::chrono::seconds(20);
    return rpc::Unary(connection_.get(), absl::OkStatus(), path, options, request, response);
  }

  std::string dir_;
  std::unique_ptr<testutil::BackgroundProcess> containerd_;
  std::unique_ptr<http2::Connection> connection_;
};

TEST_F(ContainerdInteropTest, UnaryCallsAndErrorsAgreeWithGosServer) {
  containerd::services::version::v1::VersionResponse version;
  ASSERT_TRUE(Unary("/containerd.services.version.v1.Version/Version",
                    google::protobuf::Empty(), &version).ok());
  EXPECT_EQ(version.version().rfind("1.", 0), 0u) << version.version();

  // A large response: every plugin containerd has, over many DATA frames.
  containerd::services::introspection::v1::PluginsResponse plugins;
  ASSERT_TRUE(Unary("/containerd.services.introspection.v1.Introspection/Plugins",
                    containerd::services::introspection::v1::PluginsRequest(), &plugins)
                  .ok());
  EXPECT_GT(plugins.plugins_size(), 10);

  namespaces::CreateNamespaceRequest create;
  create.mutable_namespace_()->set_name("made-by-berthctl");
  (*create.mutable_namespace_()->mutable_labels())["a.b"] = "c";
  namespaces::CreateNamespaceResponse created;
  ASSERT_TRUE(Unary("/containerd.services.namespaces.v1.Namespaces/Create", create, &created)
                  .ok());
  namespaces::ListNamespacesResponse list;
  ASSERT_TRUE(Unary("/containerd.services.namespaces.v1.Namespaces/List",
                    namespaces::ListNamespacesRequest(), &list).ok());
  bool found = false;
  for (const auto& ns : list.namespaces()) {
    found |= ns.name() == "made-by-berthctl" && ns.labels().at("a.b") == "c";
  }
  EXPECT_TRUE(found);

  // containerd's errors: code and message through Go's percent-encoded grpc-message.
  absl::Status again =
      Unary("/containerd.services.namespaces.v1.Namespaces/Create", create, &created);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;
  EXPECT_NE(again.message().find("made-by-berthctl"), absl::string_view::npos) << again;
}

TEST_F(ContainerdInteropTest, StreamingErrorAndManyCalls) {
  namespace content = containerd::services::content::v1;
  content::ReadContentRequest read;
  read.set_digest("sha256:" + std::string(64, 'a'));
  CallOptions options;
  options.metadata.push_back({"containerd-namespace", "ctl-interop"});
  Call call(connection_.get(), absl::OkStatus(), "/containerd.services.content.v1.Content/Read",
            options);
  ASSERT_TRUE(call.Write(read, /*last=*/true));
  content::ReadContentResponse chunk;
  EXPECT_FALSE(call.Read(&chunk));
  EXPECT_EQ(call.Finish().code(), absl::StatusCode::kNotFound);
  // Go's HPACK encoder indexes repeated headers: a hundred calls exercise its dynamic table.
  for (int i = 0; i < 100; ++i) {
    containerd::services::version::v1::VersionResponse version;
    ASSERT_TRUE(Unary("/containerd.services.version.v1.Version/Version",
                      google::protobuf::Empty(), &version).ok()) << i;
  }
}

}  // namespace
}  // namespace berth::ctl::rpc
