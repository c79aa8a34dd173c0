// Daemon-side unpack: `berthctl image load` unpacks into the snapshotter (chain ids as the OCI
// image spec computes them), ctr runs a container on the result, `image unpack` reuses layers
// already there, and a layer whose diff id does not match its config leaves no snapshot.

#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "content/digest.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration_images/images_fixture.h"

namespace berth::testutil {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The chain ids of the busybox image, computed here from its config (not by the daemon's code).
std::vector<std::string> ExpectedChainIds(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> chain;
  for (const std::string& diff_id : diff_ids) {
    chain.push_back(chain.empty() ? diff_id
                                  : content::Digest::FromBytes(
                                        absl::StrCat(chain.back(), " ", diff_id))
                                        .string());
  }
  return chain;
}

class UnpackTest : public ImagesTest {
 protected:
  std::string Snapshots(const std::string& snapshotter) {
    CommandResult ls = Ctr({"snapshots", "--snapshotter", snapshotter, "ls"});
    EXPECT_TRUE(ls.ok()) << ls.Describe();
    return ls.out;
  }
};

TEST_F(UnpackTest, LoadUnpacksIntoChainIdsAndCtrRunsTheImage) {
  CommandResult load = Berthctl({"image", "load", "-i", Image("busybox-oci.tar")});
  ASSERT_TRUE(load.ok()) << load.Describe();
  std::vector<std::string> chain = ExpectedChainIds(DiffIds());
  ASSERT_EQ(chain.size(), 2u);
  std::string snapshots = Snapshots("overlayfs");
  for (const std::string& id : chain) EXPECT_THAT(snapshots, HasSubstr(id));
  EXPECT_THAT(snapshots, Not(HasSubstr("extract-")));  // no active leftovers
  EXPECT_THAT(Ctr({"content", "ls"}).out,
              HasSubstr(absl::StrCat("containerd.io/gc.ref.snapshot.overlayfs=", chain[1])));

  CommandResult run = Ctr({"run", "--rm", "docker.io/library/busybox:latest", "unpacked",
                           "/bin/busybox", "cat", "/hello.txt"});
  RemoveNamespaceCgroups("default");  // ctr ran it in /default/unpacked
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(run.out, "hello\n");

  CommandResult again = Berthctl({"image", "unpack", "busybox"});
  ASSERT_TRUE(again.ok()) << again.Describe();
  EXPECT_THAT(again.out, HasSubstr(absl::StrCat(chain[1], " (0 layers applied, 2 reused)")));
}

TEST_F(UnpackTest, CtrImportUnpacksAndCtrImagesMountShowsTheRootfs) {
  CommandResult import = Ctr({"images", "import", Image("busybox-oci.tar")});  // unpacks
  ASSERT_TRUE(import.ok()) << import.Describe();
  std::vector<std::string> chain = ExpectedChainIds(DiffIds());
  std::string snapshots = Snapshots("overlayfs");
  for (const std::string& id : chain) EXPECT_THAT(snapshots, HasSubstr(id));

  std::string dir = Temp("mnt");
  std::filesystem::create_directories(dir);
  CommandResult mount = Ctr({"images", "mount", "docker.io/library/busybox:latest", dir});
  ASSERT_TRUE(mount.ok()) << mount.Describe();
  {
    std::ifstream hello(dir + "/hello.txt");  // closed before the unmount
    std::string text((std::istreambuf_iterator<char>(hello)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "hello\n");
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/bin/busybox"));
  CommandResult unmount = Ctr({"images", "unmount", "--rm", dir});
  EXPECT_TRUE(unmount.ok()) << unmount.Describe();
  EXPECT_FALSE(std::filesystem::exists(dir + "/bin/busybox"));
}

TEST_F(UnpackTest, NoUnpackThenUnpackIntoNative) {
  ASSERT_TRUE(Berthctl({"image", "load", "--no-unpack", "-i", Image("busybox-oci.tar")}).ok());
  std::vector<std::string> chain = ExpectedChainIds(DiffIds());
  EXPECT_THAT(Snapshots("overlayfs"), Not(HasSubstr(chain[0])));
  CommandResult unpack = Berthctl({"image", "unpack", "--snapshotter", "native", "busybox"});
  ASSERT_TRUE(unpack.ok()) << unpack.Describe();
  EXPECT_THAT(unpack.out, HasSubstr("(2 layers applied, 0 reused)"));
  EXPECT_THAT(Snapshots("native"), HasSubstr(chain[1]));
  EXPECT_THAT(Snapshots("overlayfs"), Not(HasSubstr(chain[0])));
}

TEST_F(UnpackTest, SnapshotsAreCollectedWithTheImageButNotUnderAContainer) {
  ASSERT_TRUE(Berthctl({"image", "load", "-i", Image("busybox-oci.tar")}).ok());
  std::vector<std::string> chain = ExpectedChainIds(DiffIds());
  CommandResult create = Ctr({"containers", "create", "docker.io/library/busybox:latest", "c1"});
  ASSERT_TRUE(create.ok()) << create.Describe();
  CommandResult rm = Ctr({"images", "rm", "--sync", "docker.io/library/busybox:latest"});
  ASSERT_TRUE(rm.ok()) << rm.Describe();
  std::string snapshots = Snapshots("overlayfs");
  for (const std::string& id : chain) EXPECT_THAT(snapshots, HasSubstr(id));  // c1's parents
  EXPECT_THAT(snapshots, HasSubstr("c1"));

  ASSERT_TRUE(Ctr({"containers", "rm", "c1"}).ok());
  // Any synchronous collection now takes the image's layers.
  ContentClient content(daemon_->NewChannel());
  ASSERT_TRUE(content.CreateLease("trigger").ok());
  ASSERT_TRUE(content.DeleteLease("trigger", /*sync=*/true).ok());
  std::vector<std::string> lines =
      absl::StrSplit(Snapshots("overlayfs"), '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 1u) << Snapshots("overlayfs");  // the header only
  std::error_code error;
  auto dir = std::filesystem::directory_iterator(
      daemon_->root() + "/io.containerd.snapshotter.v1.overlayfs/snapshots", error);
  EXPECT_FALSE(error);
  EXPECT_EQ(std::distance(dir, std::filesystem::directory_iterator()), 0);
}

TEST_F(UnpackTest, WrongDiffIdFailsAndLeavesNoSnapshot) {
  CommandResult load = Berthctl({"image", "load", "-i", Image("bad-diffid.tar")});
  EXPECT_FALSE(load.ok());
  EXPECT_THAT(load.err, HasSubstr("diff id")) << load.Describe();
  std::string snapshots = Snapshots("overlayfs");
  EXPECT_THAT(snapshots, Not(HasSubstr("extract-")));
  // The first layer is fine and stays committed for reuse; the bad one is nowhere.
  std::vector<std::string> lines = absl::StrSplit(snapshots, '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 2u) << snapshots;  // header + the good base layer
  CommandResult unpack = Berthctl({"image", "unpack", "nope"});
  EXPECT_FALSE(unpack.ok());
  EXPECT_THAT(unpack.err, HasSubstr("not found")) << unpack.Describe();
}

}  // namespace
}  // namespace berth::testutil
