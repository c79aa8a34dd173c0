// Faults between berthd and the registry: mirrors that fail, a blob transfer cut short (resumed
// with Range), a daemon killed in the middle of a blob (resumed from the stored ingest), and
// bytes that do not match their digest (refused, nothing stored).

#include <csignal>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "nlohmann/json.hpp"
#include "tests/registry/registry_fixture.h"

namespace berth::testutil {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kCut = 300000;

class FaultsTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    if (IsSkipped()) return;
    auto registry = LocalRegistry::Start(Temp("registry"), {});
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
    PushFixture("busybox", registry_->host(), "test/busybox:latest");
    std::ifstream in(Layout() + "/blobs/sha256/" + busybox_manifest_.substr(7));
    nlohmann::json manifest = nlohmann::json::parse(in);
    for (const auto& layer : manifest["layers"]) {
      if (layer["size"].get<int64_t>() > kCut) big_layer_ = layer["digest"];
    }
    ASSERT_FALSE(big_layer_.empty()) << "busybox's layer should be larger than the cut";
  }
  std::string BlobPath() const { return "/v2/test/busybox/blobs/" + big_layer_; }

  std::string big_layer_;
};

TEST_F(FaultsTest, FailingMirrorsFallThroughToTheNextEndpoint) {
  auto failing = Proxy::Start("fail", registry_->port());
  ASSERT_TRUE(failing.ok()) << failing.status();
  int dead = FreePort();
  StartDaemon(absl::StrCat(
      "version = 2\n[plugins.\"io.containerd.grpc.v1.transfer\".registry.mirrors.\"docker.io\"]\n",
      "endpoints = [\"http://127.0.0.1:", dead, "\", \"http://", (*failing)->host(),
      "\", \"http://", registry_->host(), "\"]\n"));
  // docker.io/test/busybox:latest: the origin (registry-1.docker.io) is never needed.
  CommandResult pulled = Berthctl({"pull", "test/busybox"});
  ASSERT_TRUE(pulled.ok()) << pulled.Describe();
  EXPECT_THAT(pulled.out, HasSubstr("docker.io/test/busybox:latest: pulled " + busybox_manifest_));
  EXPECT_THAT((*failing)->Log(), HasSubstr("REQ HEAD /v2/test/busybox/manifests/latest"));
  EXPECT_TRUE(HasContent(big_layer_));
}

TEST_F(FaultsTest, CutTransferResumesWithRange) {
  auto proxy = Proxy::Start("cut", registry_->port(), {"--cut", std::to_string(kCut)});
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  StartDaemon();
  CommandResult pulled =
      Berthctl({"pull", "--plain-http", (*proxy)->host() + "/test/busybox:latest"});
  ASSERT_TRUE(pulled.ok()) << pulled.Describe();
  std::string log = (*proxy)->Log();
  EXPECT_THAT(log, HasSubstr(absl::StrCat("CUT ", BlobPath(), " after ", kCut)));
  EXPECT_THAT(log, HasSubstr(absl::StrCat("REQ GET ", BlobPath(), " range=bytes=", kCut, "-")));
  EXPECT_TRUE(HasContent(big_layer_));
  EXPECT_THAT(Ctr({"images", "check"}).out, HasSubstr("complete"));
}

TEST_F(FaultsTest, PullResumesAfterDaemonRestart) {
  auto proxy = Proxy::Start("stall", registry_->port(), {"--cut", std::to_string(kCut)});
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  StartDaemon();
  std::string ctl = BuildPath("ctl/berthctl");
  std::string ref = (*proxy)->host() + "/test/busybox:latest";
  auto first = BackgroundProcess::Start({ctl, "-a", daemon_->address(), "pull", "--plain-http", ref},
                                        {"BERTH_AUTH_CONFIG=" + auth_config_});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE((*proxy)->process().WaitForStdout("STALLED", std::chrono::seconds(30)))
      << (*proxy)->Log();
  std::this_thread::sleep_for(std::chrono::seconds(1));  // the stalled bytes reach the ingest
  ASSERT_TRUE(daemon_->Kill(SIGKILL).ok());
  (*first)->Kill(SIGKILL);
  ASSERT_TRUE(daemon_->StartProcess().ok());

  CommandResult pulled = Berthctl({"pull", "--plain-http", ref});
  ASSERT_TRUE(pulled.ok()) << pulled.Describe();
  EXPECT_THAT((*proxy)->Log(),
              HasSubstr(absl::StrCat("REQ GET ", BlobPath(), " range=bytes=", kCut, "-")));
  EXPECT_TRUE(HasContent(big_layer_));
  EXPECT_THAT(Ctr({"images", "check"}).out, HasSubstr("complete"));
}

TEST_F(FaultsTest, BlobNotMatchingItsDigestIsRefused) {
  auto proxy = Proxy::Start("corrupt", registry_->port(), {"--cut", std::to_string(kCut)});
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  StartDaemon();
  std::string ref = (*proxy)->host() + "/test/busybox:latest";
  CommandResult pulled = Berthctl({"pull", "--plain-http", ref});
  EXPECT_FALSE(pulled.ok());
  EXPECT_THAT(pulled.err, HasSubstr("do not match the digest"));
  EXPECT_THAT(pulled.err, HasSubstr("not stored"));
  EXPECT_FALSE(HasContent(big_layer_));
  EXPECT_THAT(Ctr({"content", "active"}).out, Not(HasSubstr(big_layer_)));
  EXPECT_THAT(Ctr({"images", "ls", "-q"}).out, Not(HasSubstr("busybox")));
}

}  // namespace
}  // namespace berth::testutil
