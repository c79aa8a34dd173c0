// An external snapshotter end to end: berth-snapshotter serves native on a unix socket,
// berthd is configured with [proxy_plugins.ext] type = "snapshot", and a layer is unpacked
// through it exactly as `ctr images pull` does (Prepare, Diff.Apply, Commit), then viewed,
// mounted and read.

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "containerd/services/diff/v1/diff.grpc.pb.h"
#include "containerd/services/leases/v1/leases.grpc.pb.h"
#include "gtest/gtest.h"
#include "plugins/base/temp_dir.h"
#include "snapshotter/mount_util.h"
#include "snapshotter/proxy/convert.h"
#include "tests/diff/tar_builder.h"
#include "tests/snapshots_service/snapshots_util.h"
#include "tests/testutil/process.h"
#include "tests/testutil/test_daemon.h"

namespace berth::testutil {
namespace {

namespace diff_api = containerd::services::diff::v1;

std::string SnapshotterBinary() { return BuildPath("snapshotter/berth-snapshotter"); }

TEST(ProxySnapshotterTest, UnpackMountAndReadThroughExternalSnapshotter) {
  auto dir = ScopedTempDir::Create("/tmp", "berth-px-");
  ASSERT_TRUE(dir.ok());
  const std::string socket = dir->path() + "/ext.sock";
  auto external = BackgroundProcess::Start({SnapshotterBinary(), "--snapshotter", "native",
                                            "--root", dir->path() + "/root", "--address",
                                            socket});
  ASSERT_TRUE(external.ok()) << external.status();
  for (int i = 0; i < 100 && access(socket.c_str(), F_OK) != 0; ++i) usleep(50000);
  ASSERT_EQ(access(socket.c_str(), F_OK), 0) << (*external)->Stderr();

  DaemonOptions options;
  options.config_text = "version = 2\n[proxy_plugins.ext]\n  type = \"snapshot\"\n  address = \"" +
                        socket + "\"\n";
  auto daemon = TestDaemon::Start(options);
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  auto channel = (*daemon)->NewChannel();

  std::string layer = diff::testing::TarBuilder()
                          .Dir("etc")
                          .File("etc/hello.txt", "hello through the proxy\n")
                          .Build(diff::Compression::kGzip);
  std::string digest = diff::testing::DigestOf(layer).string();
  grpc::Status wrote = WriteBlob(channel, "default", layer, digest);
  ASSERT_TRUE(wrote.ok()) << StatusText(wrote);

  // The snapshots live under a lease, as a client's unpack does: the collector takes
  // unreferenced snapshots, active ones included.
  auto leases = containerd::services::leases::v1::Leases::NewStub(channel);
  containerd::services::leases::v1::CreateRequest lease_request;
  lease_request.set_id("proxy-test");
  containerd::services::leases::v1::CreateResponse lease_response;
  ASSERT_TRUE(leases->Create(NamespacedContext("default").get(), lease_request, &lease_response)
                  .ok());
  auto leased = [] {
    auto context = NamespacedContext("default");
    context->AddMetadata("containerd-lease", "proxy-test");
    return context;
  };
  auto snapshots = snapshots_api::Snapshots::NewStub(channel);
  auto context = leased();
  snapshots_api::PrepareSnapshotRequest prepare;
  prepare.set_snapshotter("ext");
  prepare.set_key("extract-1 layer");
  snapshots_api::PrepareSnapshotResponse prepared;
  grpc::Status status = snapshots->Prepare(context.get(), prepare, &prepared);
  ASSERT_TRUE(status.ok()) << StatusText(status);

  auto differ = diff_api::Diff::NewStub(channel);
  context = NamespacedContext("default");
  diff_api::ApplyRequest apply;
  apply.mutable_diff()->set_media_type("application/vnd.oci.image.layer.v1.tar+gzip");
  apply.mutable_diff()->set_digest(digest);
  apply.mutable_diff()->set_size(static_cast<int64_t>(layer.size()));
  *apply.mutable_mounts() = prepared.mounts();
  diff_api::ApplyResponse applied;
  status = differ->Apply(context.get(), apply, &applied);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(applied.applied().media_type(), "application/vnd.oci.image.layer.v1.tar");
  EXPECT_TRUE(applied.applied().digest().rfind("sha256:", 0) == 0);

  context = leased();
  snapshots_api::CommitSnapshotRequest commit;
  commit.set_snapshotter("ext");
  commit.set_name("layer");
  commit.set_key("extract-1 layer");
  google::protobuf::Empty empty;
  status = snapshots->Commit(context.get(), commit, &empty);
  ASSERT_TRUE(status.ok()) << StatusText(status);

  context = leased();
  snapshots_api::ViewSnapshotRequest view;
  view.set_snapshotter("ext");
  view.set_key("rootfs-view");
  view.set_parent("layer");
  snapshots_api::ViewSnapshotResponse viewed;
  status = snapshots->View(context.get(), view, &viewed);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  std::string content;
  absl::Status mounted = snapshotter::WithTempMount(
      snapshotter::MountsFromProto(viewed.mounts()), [&](const std::string& root) {
        std::ifstream in(root + "/etc/hello.txt");
        std::stringstream ss;
        ss << in.rdbuf();
        content = ss.str();
        return absl::OkStatus();
      });
  ASSERT_TRUE(mounted.ok()) << mounted;
  EXPECT_EQ(content, "hello through the proxy\n");

  // The backend holds namespaced keys; the client's names exist only in berthd's metadata.
  EXPECT_EQ((*daemon)->Stop(), absl::OkStatus());
  (*external)->Kill(SIGTERM);
}

}  // namespace
}  // namespace berth::testutil
