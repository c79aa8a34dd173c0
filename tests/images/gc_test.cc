// Garbage collection (services/metadata/gc.h): roots, references, leases, sharing, races.

#include <atomic>
#include <thread>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "services/metadata/time_util.h"
#include "tests/images/fixture.h"

namespace berth::metadata {
namespace {

using GcTest = MetadataFixture;

// index -> manifest -> {config, layer}, labelled as containerd does on pull.
struct Tree {
  std::string index, manifest, config, layer;
};

Tree PutTree(MetadataFixture& f, const std::string& ns, const std::string& salt) {
  Tree t;
  t.layer = f.Put(ns, "layer" + salt);
  t.config = f.Put(ns, "config" + salt);
  t.manifest = f.Put(ns, "manifest" + salt, {{"containerd.io/gc.ref.content.config", t.config},
                                            {"containerd.io/gc.ref.content.l.0", t.layer}});
  t.index = f.Put(ns, "index" + salt, {{"containerd.io/gc.ref.content.m.0", t.manifest}});
  return t;
}

TEST_F(GcTest, ImageKeepsItsTreeUntilDeleted) {
  Tree t = PutTree(*this, "a", "1");
  CreateImage("a", "img", t.index, 6);
  std::string loose = Put("a", "loose");
  GcStats stats = Collect();
  EXPECT_EQ(stats.content, 1);
  EXPECT_FALSE(OnDisk(loose));
  for (const auto& d : {t.index, t.manifest, t.config, t.layer}) EXPECT_TRUE(Visible("a", d));
  ASSERT_TRUE(images_->Delete("a", "img").ok());
  stats = Collect();
  EXPECT_EQ(stats.content, 4);
  EXPECT_EQ(stats.blobs, 4);
  for (const auto& d : {t.index, t.manifest, t.config, t.layer}) EXPECT_FALSE(OnDisk(d));
}

TEST_F(GcTest, SharedBlobSurvivesUntilBothImagesAreGone) {
  Tree t = PutTree(*this, "a", "1");
  CreateImage("a", "one", t.index, 6);
  CreateImage("a", "two", t.manifest, 9);
  ASSERT_TRUE(images_->Delete("a", "one").ok());
  Collect();
  EXPECT_FALSE(OnDisk(t.index));
  EXPECT_TRUE(OnDisk(t.layer));
  ASSERT_TRUE(images_->Delete("a", "two").ok());
  Collect();
  EXPECT_FALSE(OnDisk(t.layer));
}

TEST_F(GcTest, BlobHeldInAnotherNamespaceStaysOnDisk) {
  std::string digest = Put("a", "both");
  Put("b", "both");
  CreateImage("b", "keep", digest, 4);
  Collect();
  EXPECT_FALSE(Visible("a", digest));
  EXPECT_TRUE(Visible("b", digest));
  EXPECT_TRUE(OnDisk(digest));
}

TEST_F(GcTest, LeaseHoldsUntilDeletedOrExpired) {
  Lease lease;
  lease.set_id("held");
  ASSERT_TRUE(leases_->Create("a", lease).ok());
  lease.set_id("expired");
  (*lease.mutable_labels())["containerd.io/gc.expire"] =
      absl::FormatTime(absl::RFC3339_full, absl::Now() - absl::Minutes(1), absl::UTCTimeZone());
  ASSERT_TRUE(leases_->Create("a", lease).ok());
  std::string held = Put("a", "held", {}, "held");
  std::string expired = Put("a", "expired", {}, "expired");
  GcStats stats = Collect();
  EXPECT_EQ(stats.leases, 1);
  EXPECT_TRUE(OnDisk(held));
  EXPECT_FALSE(OnDisk(expired));
  ASSERT_TRUE(leases_->Delete("a", "held").ok());
  Collect();
  EXPECT_FALSE(OnDisk(held));
}

TEST_F(GcTest, GcRootLabelKeepsContent) {
  std::string root = Put("a", "root", {{"containerd.io/gc.root", "1"}});
  Collect();
  EXPECT_TRUE(Visible("a", root));
}

TEST_F(GcTest, LiveIngestSurvivesAndPartialDataIsKept) {
  auto writer = content_->OpenWriter({"a", std::nullopt}, "partial", 0, "");
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write("abc").ok());
  writer->reset();
  Collect();
  auto status = content_->Status("a", "partial");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->offset(), 3);
}

// Images created while collections run never lose their target.
TEST_F(GcTest, CreateRacingWithGcWins) {
  std::atomic<bool> stop = false;
  std::thread gc([&] {
    while (!stop) (void)collector_->Collect();
  });
  for (int i = 0; i < 40; ++i) {
    std::string digest = Put("a", "racing" + std::to_string(i));
    Image image;
    image.set_name("racer" + std::to_string(i));
    image.mutable_target()->set_digest(digest);
    image.mutable_target()->set_size(7);
    image.mutable_target()->set_media_type("application/octet-stream");
    // The blob may already be collected (it was unreferenced); if the image got created while
    // the record was still there, the record and the bytes must survive.
    bool present_before = Visible("a", digest);
    ASSERT_TRUE(images_->Create("a", image).ok());
    if (present_before && Visible("a", digest)) {
      Collect();
      EXPECT_TRUE(OnDisk(digest)) << i;
    }
  }
  stop = true;
  gc.join();
}

}  // namespace
}  // namespace berth::metadata
