// Images end to end: berthd driven by ctr, berthctl and skopeo with busybox images built by
// make_images.sh; garbage collection measured on the content directory.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration_images/images_fixture.h"

namespace berth::testutil {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kBusybox[] = "docker.io/library/busybox:latest";

TEST_F(ImagesTest, CtrImportListsExportsAndSkopeoReadsIt) {
  int64_t before = ContentBytes();
  CommandResult import = Ctr({"images", "import", "--no-unpack", Image("busybox-oci.tar")});
  ASSERT_TRUE(import.ok()) << import.Describe();
  CommandResult ls = Ctr({"images", "ls"});
  ASSERT_TRUE(ls.ok()) << ls.Describe();
  EXPECT_THAT(ls.out, HasSubstr(kBusybox));
  EXPECT_THAT(ls.out, HasSubstr(CtrSize(OciBlobBytes())));
  CommandResult content = Ctr({"content", "ls"});
  ASSERT_TRUE(content.ok()) << content.Describe();
  for (const std::string& digest : OciBlobDigests()) EXPECT_THAT(content.out, HasSubstr(digest));

  std::string out = Temp("out.tar");
  CommandResult exported = Ctr({"images", "export", out, kBusybox});
  ASSERT_TRUE(exported.ok()) << exported.Describe();
  CommandResult inspect = Run({"skopeo", "inspect", "oci-archive:" + out});
  ASSERT_TRUE(inspect.ok()) << inspect.Describe();
  nlohmann::json parsed = nlohmann::json::parse(inspect.out);
  EXPECT_EQ(parsed["Digest"], ManifestDigest());
  for (const std::string& layer : LayerDigests()) {
    EXPECT_THAT(parsed["Layers"].dump(), HasSubstr(layer));
  }

  CommandResult rm = Ctr({"images", "rm", "--sync", kBusybox});
  ASSERT_TRUE(rm.ok()) << rm.Describe();
  EXPECT_EQ(ContentBytes(), before);
}

TEST_F(ImagesTest, BerthctlLoadsSkopeoArchivesAndSavesForSkopeo) {
  for (const char* file : {"busybox-docker.tar", "busybox-oci.tar"}) {
    CommandResult load = Berthctl({"image", "load", "-i", Image(file)});
    ASSERT_TRUE(load.ok()) << load.Describe();
    EXPECT_THAT(load.out, HasSubstr(absl::StrCat("Loaded image: ", kBusybox)));
  }
  CommandResult images = Berthctl({"images"});
  ASSERT_TRUE(images.ok()) << images.Describe();
  EXPECT_THAT(images.out, HasSubstr("busybox"));
  EXPECT_THAT(images.out, HasSubstr("latest"));
  CommandResult json = Berthctl({"--format", "json", "image", "ls"});
  ASSERT_TRUE(json.ok()) << json.Describe();
  EXPECT_EQ(nlohmann::json::parse(json.out)[0]["name"], kBusybox);

  std::string saved = Temp("saved.tar");
  CommandResult save = Berthctl({"image", "save", "-o", saved, "busybox"});
  ASSERT_TRUE(save.ok()) << save.Describe();
  CommandResult inspect = Run({"skopeo", "inspect", "docker-archive:" + saved});
  ASSERT_TRUE(inspect.ok()) << inspect.Describe();
  // A docker-archive holds its layers uncompressed, as `docker save` writes them.
  for (const std::string& layer : DiffIds()) EXPECT_THAT(inspect.out, HasSubstr(layer));

  std::string oci = Temp("saved-oci.tar");
  save = Berthctl({"image", "save", "--format", "oci", "-o", oci, "busybox"});
  ASSERT_TRUE(save.ok()) << save.Describe();
  inspect = Run({"skopeo", "inspect", "oci-archive:" + oci});
  ASSERT_TRUE(inspect.ok()) << inspect.Describe();
  EXPECT_EQ(nlohmann::json::parse(inspect.out)["Digest"], ManifestDigest());
}

TEST_F(ImagesTest, TagInspectRemoveAndPrune) {
  ASSERT_TRUE(Berthctl({"image", "load", "-i", Image("busybox-oci.tar")}).ok());
  ASSERT_TRUE(Berthctl({"image", "tag", "busybox", "example.com/mine:1"}).ok());
  CommandResult inspect = Berthctl({"image", "inspect", "example.com/mine:1"});
  ASSERT_TRUE(inspect.ok()) << inspect.Describe();
  EXPECT_EQ(nlohmann::json::parse(inspect.out)[0]["target"]["digest"], ManifestDigest());
  ASSERT_TRUE(Berthctl({"image", "tag", "busybox", "docker.io/library/busybox@" + ManifestDigest()})
                  .ok());
  CommandResult prune = Berthctl({"image", "prune"});
  ASSERT_TRUE(prune.ok()) << prune.Describe();
  EXPECT_THAT(prune.out, HasSubstr("@sha256:"));
  CommandResult rm = Berthctl({"image", "rm", "example.com/mine:1"});
  ASSERT_TRUE(rm.ok()) << rm.Describe();
  CommandResult images = Berthctl({"images"});
  EXPECT_THAT(images.out, Not(HasSubstr("mine")));
  EXPECT_THAT(images.out, HasSubstr("busybox"));
}

TEST_F(ImagesTest, SharedLayersSurviveUntilBothImagesAreGone) {
  int64_t before = ContentBytes();
  ASSERT_TRUE(Berthctl({"image", "load", "-i", Image("busybox-docker.tar")}).ok());
  ASSERT_TRUE(Berthctl({"image", "load", "-i", Image("extra-docker.tar")}).ok());
  // docker-archive layers are stored uncompressed: their digests are the diff ids.
  std::vector<std::string> diff_ids = DiffIds();
  ASSERT_FALSE(diff_ids.empty());
  std::string shared = diff_ids[0];
  ASSERT_TRUE(Berthctl({"image", "rm", "busybox:latest"}).ok());
  EXPECT_TRUE(BlobOnDisk(shared));
  ASSERT_TRUE(Berthctl({"image", "rm", "busybox:extra"}).ok());
  EXPECT_FALSE(BlobOnDisk(shared));
  EXPECT_EQ(ContentBytes(), before);
}

TEST_F(ImagesTest, BlobHeldByLeaseSurvivesCollection) {
  ContentClient content(daemon_->NewChannel());
  ASSERT_TRUE(content.CreateLease("hold").ok());
  std::string digest = content.WriteBlob("held bytes", "hold");
  ASSERT_FALSE(digest.empty());
  std::string loose = content.WriteBlob("loose bytes", "");
  ASSERT_TRUE(content.DeleteLease("other-trigger-missing", /*sync=*/true).error_code() ==
              grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(Berthctl({"image", "load", "-i", Image("busybox-oci.tar")}).ok());
  ASSERT_TRUE(Berthctl({"image", "rm", "busybox"}).ok());  // a synchronous collection
  EXPECT_TRUE(BlobOnDisk(digest));
  EXPECT_FALSE(BlobOnDisk(loose));
  ASSERT_TRUE(content.DeleteLease("hold", /*sync=*/true).ok());
  EXPECT_FALSE(BlobOnDisk(digest));
}

TEST_F(ImagesTest, BadArchivesFailCleanlyAndLeaveNothing) {
  int64_t before = ContentBytes();
  struct Case {
    const char* file;
    const char* message;
  } cases[] = {{"bad-truncated.tar", "truncated"},
               {"bad-garbage.tar", "archive"},
               {"bad-missing-blob.tar", "not found"},
               {"bad-traversal.tar", "unsafe path"}};
  for (const Case& c : cases) {
    CommandResult load = Berthctl({"image", "load", "-i", Image(c.file)});
    EXPECT_FALSE(load.ok()) << c.file;
    EXPECT_THAT(absl::AsciiStrToLower(load.err), HasSubstr(c.message)) << load.Describe();
    CommandResult images = Berthctl({"images"});
    EXPECT_THAT(images.out, Not(HasSubstr("busybox"))) << c.file;
  }
  CommandResult ls = Ctr({"images", "ls", "-q"});
  EXPECT_EQ(ls.out, "");
  // One synchronous collection takes the half-imported blobs.
  ASSERT_TRUE(Berthctl({"image", "load", "-i", Image("busybox-oci.tar")}).ok());
  ASSERT_TRUE(Berthctl({"image", "rm", "busybox"}).ok());
  EXPECT_EQ(ContentBytes(), before);
}

}  // namespace
}  // namespace berth::testutil
