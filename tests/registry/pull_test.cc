// Pull and push against a real docker-registry: single-platform images by tag and digest, the
// host's platform chosen from an index, clear errors, pushes read back by skopeo and pulled
// again, and ctr's client-side pull through berthd.

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "content/digest.h"
#include "nlohmann/json.hpp"
#include "plugins/base/platform.h"
#include "tests/registry/registry_fixture.h"
#include "tests/shim/shim_env.h"

namespace berth::testutil {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

class PullTest : public RegistryTest {
 protected:
  void StartRegistry(const RegistryOptions& options = {}) {
    auto registry = LocalRegistry::Start(Temp("registry"), options);
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
  }
  nlohmann::json BusyboxManifest() const {
    return nlohmann::json::parse(ReadFile(Blob(busybox_manifest_)));
  }
  std::string Blob(const std::string& digest) const {
    return Layout() + "/blobs/sha256/" + digest.substr(7);
  }
  std::vector<std::string> BusyboxBlobs() const {
    nlohmann::json manifest = BusyboxManifest();
    std::vector<std::string> out = {manifest["config"]["digest"]};
    for (const auto& layer : manifest["layers"]) out.push_back(layer["digest"]);
    return out;
  }
};

TEST_F(PullTest, PullsSinglePlatformImageByTagAndByDigest) {
  StartRegistry();
  PushFixture("busybox", registry_->host(), "test/busybox:latest");
  StartDaemon();
  std::string ref = registry_->host() + "/test/busybox";
  CommandResult pulled = Berthctl({"pull", "--plain-http", ref});
  ASSERT_TRUE(pulled.ok()) << pulled.Describe();
  EXPECT_THAT(pulled.out, HasSubstr("pulled " + busybox_manifest_));
  EXPECT_THAT(pulled.out, HasSubstr(": done "));  // plain progress lines off a terminal
  EXPECT_THAT(Ctr({"images", "ls", "-q"}).out, HasSubstr(ref + ":latest"));
  EXPECT_TRUE(HasContent(busybox_manifest_));
  for (const std::string& blob : BusyboxBlobs()) EXPECT_TRUE(HasContent(blob)) << blob;
  // Unpacked into the default snapshotter: one committed snapshot per layer.
  CommandResult snapshots = Ctr({"snapshots", "ls"});
  EXPECT_EQ(std::count(snapshots.out.begin(), snapshots.out.end(), '\n') - 1,
            static_cast<long>(BusyboxManifest()["layers"].size()))
      << snapshots.out;

  // A single-platform image names its platform in its config.
  CommandResult wrong = Berthctl({"pull", "--plain-http", "--platform", "linux/arm64", ref}, "arm");
  EXPECT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.err, HasSubstr("platform linux/arm64 not found"));

  std::string by_digest = ref + "@" + busybox_manifest_;
  pulled = Berthctl({"pull", "-q", "--plain-http", by_digest}, "bydigest");
  ASSERT_TRUE(pulled.ok()) << pulled.Describe();
  EXPECT_EQ(pulled.out, by_digest + "\n");
  EXPECT_THAT(Ctr({"images", "ls", "-q"}, "bydigest").out, HasSubstr(by_digest));
  for (const std::string& blob : BusyboxBlobs()) EXPECT_TRUE(HasContent(blob, "bydigest"));

  // The pulls left no lease; a collection (from a synchronous image delete) keeps everything
  // the image's labels reach in "default" and drops the deleted image's content.
  EXPECT_EQ(Ctr({"leases", "ls", "-q"}).out, "");
  CommandResult removed = Ctr({"images", "rm", "--sync", by_digest}, "bydigest");
  ASSERT_TRUE(removed.ok()) << removed.Describe();
  EXPECT_FALSE(HasContent(busybox_manifest_, "bydigest"));
  EXPECT_TRUE(HasContent(busybox_manifest_));
  for (const std::string& blob : BusyboxBlobs()) EXPECT_TRUE(HasContent(blob)) << blob;
  EXPECT_THAT(Ctr({"snapshots", "ls"}).out, HasSubstr("Committed"));
}

TEST_F(PullTest, ChoosesTheRequestedPlatformFromAnIndex) {
  if (HostPlatform().architecture != "amd64") GTEST_SKIP() << "the index fixture has amd64";
  StartRegistry();
  PushFixture("multi", registry_->host(), "test/multi:latest");
  StartDaemon();
  std::string ref = registry_->host() + "/test/multi:latest";
  CommandResult pulled = Berthctl({"pull", "--plain-http", ref});
  ASSERT_TRUE(pulled.ok()) << pulled.Describe();
  EXPECT_THAT(pulled.out, HasSubstr("pulled " + multi_index_));
  EXPECT_TRUE(HasContent(multi_index_));
  EXPECT_TRUE(HasContent(busybox_manifest_));   // amd64: the host's
  EXPECT_FALSE(HasContent(multi_arm64_));       // listed first, not chosen

  pulled = Berthctl({"pull", "--plain-http", "--no-unpack", "--platform", "linux/arm64", ref},
                    "arm");
  ASSERT_TRUE(pulled.ok()) << pulled.Describe();
  EXPECT_TRUE(HasContent(multi_arm64_, "arm"));
  EXPECT_FALSE(HasContent(busybox_manifest_, "arm"));

  pulled = Berthctl({"pull", "--plain-http", "--platform", "linux/s390x", ref}, "none");
  EXPECT_FALSE(pulled.ok());
  EXPECT_THAT(pulled.err, HasSubstr("platform linux/s390x not found"));
  EXPECT_THAT(pulled.err, HasSubstr("linux/arm64/v8, linux/amd64"));
  EXPECT_THAT(Ctr({"images", "ls", "-q"}, "none").out, Not(HasSubstr("multi")));
}

TEST_F(PullTest, ErrorsSayWhatWentWrong) {
  StartRegistry();
  StartDaemon();
  CommandResult result = Berthctl({"pull", "--plain-http", registry_->host() + "/test/nothere:v1"});
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.err, HasSubstr("manifest unknown: test/nothere:v1"));
  result = Berthctl({"pull", "nosuchhost.invalid/x/y:1"});
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.err, HasSubstr("unknown host"));
  EXPECT_THAT(result.err, Not(HasSubstr("cannot reach berthd")));
  result = Berthctl({"pull", "--plain-http", "registry.example.com/x/y:1"});
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.err, HasSubstr("plain HTTP is allowed only for localhost"));
  result = Berthctl({"pull", "--plain-http", registry_->host() + "/Bad/Name"});
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.err, HasSubstr("invalid reference"));
}

TEST_F(PullTest, PushedImagesReadBackIdentical) {
  StartRegistry();
  PushFixture("busybox", registry_->host(), "test/busybox:latest");
  PushFixture("multi", registry_->host(), "test/multi:latest");
  auto second = LocalRegistry::Start(Temp("registry2"), {});
  ASSERT_TRUE(second.ok()) << second.status();
  // Small chunks so that the layer goes up in several PATCHes.
  StartDaemon(
      "version = 2\n[plugins.\"io.containerd.grpc.v1.transfer\"]\npush_chunk_size = 262144\n");
  std::string source = registry_->host() + "/test/busybox:latest";
  ASSERT_TRUE(Berthctl({"pull", "--plain-http", source}).ok());

  // To another registry: every blob uploaded (chunked for the layer).
  std::string dest = (*second)->host() + "/copy/busybox:v2";
  CommandResult pushed = Berthctl({"push", "--plain-http", source, dest});
  ASSERT_TRUE(pushed.ok()) << pushed.Describe();
  EXPECT_THAT(pushed.out, HasSubstr(": pushed "));
  CommandResult raw = Run({"skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + dest});
  ASSERT_TRUE(raw.ok()) << raw.Describe();
  EXPECT_EQ(content::Digest::FromBytes(raw.out).string(), busybox_manifest_);
  CommandResult copied = Run({"skopeo", "copy", "-q", "--src-tls-verify=false", "docker://" + dest,
                              "oci:" + Temp("readback") + ":x"});
  ASSERT_TRUE(copied.ok()) << copied.Describe();
  for (const std::string& blob : BusyboxBlobs()) {
    EXPECT_EQ(ReadFile(Temp("readback") + "/blobs/sha256/" + blob.substr(7)), ReadFile(Blob(blob)))
        << blob;
  }
  // Pushing again finds every blob there.
  pushed = Berthctl({"push", "--plain-http", source, dest});
  ASSERT_TRUE(pushed.ok()) << pushed.Describe();
  EXPECT_THAT(pushed.out, HasSubstr(": exists "));

  // Within one registry: blobs are mounted from the repository they came from.
  pushed = Berthctl({"push", "--plain-http", source, registry_->host() + "/other/busybox:v3"});
  ASSERT_TRUE(pushed.ok()) << pushed.Describe();
  EXPECT_THAT(pushed.out, HasSubstr(": mounted "));

  // An index with all its platforms, then pulled again from the copy.
  std::string multi = registry_->host() + "/test/multi:latest";
  ASSERT_TRUE(Berthctl({"pull", "--plain-http", "--all-platforms", "--no-unpack", multi}).ok());
  std::string multi_copy = (*second)->host() + "/copy/multi:all";
  pushed = Berthctl({"push", "--plain-http", multi, multi_copy});
  ASSERT_TRUE(pushed.ok()) << pushed.Describe();
  raw = Run({"skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + multi_copy});
  EXPECT_EQ(content::Digest::FromBytes(raw.out).string(), multi_index_);
  CommandResult again = Berthctl({"pull", "--plain-http", "--all-platforms", multi_copy}, "again");
  ASSERT_TRUE(again.ok()) << again.Describe();
  EXPECT_THAT(again.out, HasSubstr("pulled " + multi_index_));
  EXPECT_TRUE(HasContent(multi_arm64_, "again"));
  EXPECT_TRUE(HasContent(busybox_manifest_, "again"));
}

TEST_F(PullTest, CtrPullsThroughBerthd) {
  StartRegistry();
  PushFixture("busybox", registry_->host(), "test/busybox:latest");
  shim_test::PutShimOnPath();  // for `ctr run` below
  StartDaemon();
  std::string ref = registry_->host() + "/test/busybox:latest";
  CommandResult pulled = Ctr({"images", "pull", "--plain-http", ref});
  ASSERT_TRUE(pulled.ok()) << pulled.Describe();
  EXPECT_THAT(Ctr({"images", "ls", "-q"}).out, HasSubstr(ref));
  for (const std::string& blob : BusyboxBlobs()) EXPECT_TRUE(HasContent(blob)) << blob;
  CommandResult snapshots = Ctr({"snapshots", "ls"});
  EXPECT_THAT(snapshots.out, HasSubstr("Committed"));
  CommandResult check = Ctr({"images", "check"});
  EXPECT_THAT(check.out, HasSubstr("complete"));
  // And a container runs on what ctr pulled, through berth-shim.
  CommandResult run = Ctr({"run", "--rm", "--runtime", "io.containerd.berth.v1", ref,
                           "pulled-run", "/bin/busybox", "cat", "/hello.txt"});
  RemoveNamespaceCgroups("default");  // ctr ran it in /default/pulled-run
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(run.out, "hello\n");
}

}  // namespace
}  // namespace berth::testutil
