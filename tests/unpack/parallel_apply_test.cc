// The unpacker's parallel path (services/unpack/parallel_apply.cc) against its serial path:
// layers with whiteouts, opaque directories, links and owners applied in parallel on overlayfs
// must give the tree the serial path gives on native; a bad layer leaves nothing of itself or
// what lies above it; committed lower layers are reused; two unpacks of one image can race.

#include <sys/stat.h>

#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/diff/differ.h"
#include "services/metadata/snapshots.h"
#include "services/unpack/image_layers.h"
#include "services/unpack/unpacker.h"
#include "snapshotter/native/native_snapshotter.h"
#include "snapshotter/overlay/overlay_snapshotter.h"
#include "tests/diff/tar_builder.h"
#include "tests/diff/tree.h"
#include "tests/images/fixture.h"

namespace berth::unpack {
namespace {

using containerd::types::Descriptor;
using diff::Compression;
using diff::testing::TarBuilder;
using ::testing::HasSubstr;

constexpr char kNs[] = "unpack-test";

struct Layers {
  std::vector<Descriptor> descs;
  std::vector<std::string> diff_ids;
};

// Five layers that depend on each other's contents: deletions, an opaque directory, a file
// deleted and made again, owners and modes changed, links made and removed.
std::vector<TarBuilder> FiveLayers() {
  TarBuilder::Attrs user_dir{.mode = 0750, .uid = 1000, .gid = 1000};
  std::vector<TarBuilder> layers(5);
  layers[0]
      .Dir("a")
      .File("a/keep", "base")
      .File("a/gone", "base")
      .Dir("b", user_dir)
      .File("b/x", "x", {.mode = 0640, .uid = 1000, .gid = 1000})
      .Dir("c")
      .File("c/old1", "1")
      .File("c/old2", "2")
      .Symlink("link", "a/keep")
      .File("h1", "hard")
      .Hardlink("h2", "h1");
  layers[1]
      .File("a/.wh.gone", "")
      .File("a/keep", "changed")
      .Dir("c")
      .File("c/.wh..wh..opq", "")
      .File("c/new", "n")
      .Dir("d")
      .File("d/file", "d");
  layers[2]
      .File("d/.wh.file", "")
      .Dir("e")
      .File("e/file", "e")
      .File("b/x", "x2", {.mode = 0600, .uid = 2000, .gid = 2000})
      .File(".wh.h1", "");
  layers[3]
      .File("a/gone", "again")
      .File(".wh.link", "")
      .Dir("e2")
      .File("e2/file", "e2")
      .Hardlink("e2/hl", "e2/file")
      .File("c/old1", "back");
  layers[4]
      .File(".wh.d", "")
      .Dir("a", {.mode = 0700})
      .Symlink("link", "e/file")
      .Device("null", S_IFCHR, 1, 3);
  return layers;
}

class ParallelApplyTest : public metadata::MetadataFixture {
 protected:
  void SetUp() override {
    MetadataFixture::SetUp();
    snapshotter::overlay::OverlayOptions options;
    options.link_dir = "";
    auto overlay =
        snapshotter::overlay::OverlaySnapshotter::Create(dir_->path() + "/overlay", options);
    if (!overlay.ok()) GTEST_SKIP() << "overlayfs unavailable here: " << overlay.status();
    overlay_ = *std::move(overlay);
    auto native = snapshotter::native::NativeSnapshotter::Create(dir_->path() + "/native");
    ASSERT_TRUE(native.ok()) << native.status();
    native_ = *std::move(native);
    stores_.Add(std::make_unique<metadata::SnapshotStore>(*db_, "overlayfs", *overlay_));
    stores_.Add(std::make_unique<metadata::SnapshotStore>(*db_, "native", *native_));
    differ_ = std::make_unique<services::Differ>(*content_, diff::ApplyConfig{});
    unpacker_ = std::make_unique<Unpacker>(*content_, *leases_, stores_, *differ_);
    metadata::Lease lease;
    lease.set_id("test");
    ASSERT_TRUE(leases_->Create(kNs, lease).ok());
  }

  // Stores `layers` (gzip) and returns their descriptors and diff ids.
  Layers Store(std::vector<TarBuilder> layers) {
    Layers out;
    for (TarBuilder& layer : layers) {
      std::string tar = layer.Build(Compression::kNone);
      std::string gz = layer.Build(Compression::kGzip);
      Descriptor desc;
      desc.set_media_type(std::string(diff::LayerMediaType(Compression::kGzip)));
      desc.set_digest(Put(kNs, gz));
      desc.set_size(static_cast<int64_t>(gz.size()));
      out.descs.push_back(desc);
      out.diff_ids.push_back(diff::testing::DigestOf(tar).string());
    }
    return out;
  }

  absl::StatusOr<UnpackResult> Apply(const std::string& snapshotter, const Layers& layers) {
    UnpackRequest request{.ns = kNs, .snapshotter = snapshotter, .lease = "test"};
    return unpacker_->ApplyLayers(request, layers.descs, layers.diff_ids,
                                  [](size_t) { return absl::OkStatus(); });
  }

  // The tree of the committed snapshot `chain_id`, through a view.
  diff::testing::Tree TreeOf(const std::string& snapshotter, const std::string& chain_id) {
    metadata::SnapshotStore* store = *stores_.Get(snapshotter);
    std::string key = absl::StrCat("view-", ++views_);
    auto mounts = store->View(kNs, key, chain_id, {}, std::nullopt);
    EXPECT_TRUE(mounts.ok()) << mounts.status();
    if (!mounts.ok()) return {};
    diff::testing::Tree tree = diff::testing::MountedTree(*mounts);
    EXPECT_TRUE(store->Remove(kNs, key).ok());
    return tree;
  }

  // Kind by key of every snapshot of `snapshotter` in the test namespace.
  std::map<std::string, snapshotter::Kind> Snapshots(const std::string& snapshotter) {
    std::map<std::string, snapshotter::Kind> out;
    EXPECT_TRUE((*stores_.Get(snapshotter))
                    ->Walk(kNs,
                           [&](const snapshotter::SnapshotInfo& info) {
                             out[info.name] = info.kind;
                             return absl::OkStatus();
                           })
                    .ok());
    return out;
  }

  std::unique_ptr<snapshotter::Snapshotter> overlay_, native_;
  metadata::SnapshotStores stores_;
  std::unique_ptr<services::Differ> differ_;
  std::unique_ptr<Unpacker> unpacker_;
  int views_ = 0;
};

TEST_F(ParallelApplyTest, OnlyOverlayKeepsChangesApart) {
  ASSERT_TRUE(overlay_->SeparateChangeDirs().has_value());
  EXPECT_FALSE(overlay_->SeparateChangeDirs()->userxattr);  // root, not in a user namespace
  EXPECT_FALSE(native_->SeparateChangeDirs().has_value());
}

TEST_F(ParallelApplyTest, ParallelOnOverlayGivesTheTreeSerialGivesOnNative) {
  Layers layers = Store(FiveLayers());
  auto parallel = Apply("overlayfs", layers);
  ASSERT_TRUE(parallel.ok()) << parallel.status();
  auto serial = Apply("native", layers);
  ASSERT_TRUE(serial.ok()) << serial.status();
  EXPECT_EQ(parallel->layers_applied, 5);
  EXPECT_EQ(parallel->chain_id, serial->chain_id);

  std::vector<std::string> chain = ChainIds(layers.diff_ids);
  for (size_t i = 0; i < chain.size(); ++i) {  // every layer, not only the top
    SCOPED_TRACE(absl::StrCat("layer ", i));
    diff::testing::Tree tree = TreeOf("overlayfs", chain[i]);
    EXPECT_FALSE(tree.empty());
    EXPECT_EQ(tree, TreeOf("native", chain[i]));
    auto info = (*stores_.Get("overlayfs"))->Stat(kNs, chain[i]);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->kind, snapshotter::Kind::kCommitted);
    EXPECT_EQ(info->parent, i == 0 ? "" : chain[i - 1]);
  }
  diff::testing::Tree top = TreeOf("overlayfs", chain.back());
  EXPECT_THAT(top["a"], ::testing::StartsWith(absl::StrCat(S_IFDIR | 0700, " ")));
  EXPECT_THAT(top["a/keep"], HasSubstr("changed"));
  EXPECT_THAT(top["a/gone"], HasSubstr("again"));
  EXPECT_EQ(top.count("c/old2"), 0u);  // under the opaque c/
  EXPECT_THAT(top["c/old1"], HasSubstr("back"));
  EXPECT_EQ(top.count("d"), 0u);
  EXPECT_EQ(top.count("h1"), 0u);
  EXPECT_THAT(top["h2"], HasSubstr("hard"));
  EXPECT_THAT(top["link"], HasSubstr("e/file"));
  // No staging or extract snapshot is left: only the five committed layers.
  EXPECT_EQ(Snapshots("overlayfs").size(), 5u);
}

TEST_F(ParallelApplyTest, BadLayerLeavesNothingOfItselfOrAbove) {
  Layers layers = Store(FiveLayers());
  std::vector<std::string> chain = ChainIds(layers.diff_ids);
  Layers bad = layers;
  bad.diff_ids[2] = diff::testing::DigestOf("not this layer").string();
  auto result = Apply("overlayfs", bad);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition) << result.status();
  EXPECT_THAT(result.status().message(), HasSubstr(layers.descs[2].digest()));
  EXPECT_THAT(result.status().message(), HasSubstr("has diff id"));

  // What is left: committed snapshots of layers below the bad one, nothing else.
  for (const auto& [key, kind] : Snapshots("overlayfs")) {
    EXPECT_EQ(kind, snapshotter::Kind::kCommitted) << key;
    EXPECT_TRUE(key == chain[0] || key == chain[1]) << key;
  }
  // A retry with the right config reuses what was committed and applies the rest.
  auto retry = Apply("overlayfs", layers);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->layers_applied + retry->layers_reused, 5);
  EXPECT_EQ(TreeOf("overlayfs", chain.back()), TreeOf("overlayfs", retry->chain_id));
  ASSERT_TRUE(Apply("native", layers).ok());
  EXPECT_EQ(TreeOf("overlayfs", chain.back()), TreeOf("native", chain.back()));
}

TEST_F(ParallelApplyTest, CorruptBlobFailsWithNothingHalfApplied) {
  Layers layers = Store(FiveLayers());
  Descriptor corrupt = layers.descs[3];
  std::string bytes = "\x1f\x8b not really gzip";
  corrupt.set_digest(Put(kNs, bytes));
  corrupt.set_size(static_cast<int64_t>(bytes.size()));
  Layers bad = layers;
  bad.descs[3] = corrupt;
  auto result = Apply("overlayfs", bad);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr(corrupt.digest()));
  std::vector<std::string> chain = ChainIds(layers.diff_ids);
  for (const auto& [key, kind] : Snapshots("overlayfs")) {
    EXPECT_EQ(kind, snapshotter::Kind::kCommitted) << key;
    EXPECT_TRUE(key == chain[0] || key == chain[1] || key == chain[2]) << key;
  }
}

TEST_F(ParallelApplyTest, CommittedLowerLayersAreReused) {
  std::vector<TarBuilder> five = FiveLayers();
  Layers all = Store(five);
  Layers lower{{all.descs.begin(), all.descs.begin() + 2},
               {all.diff_ids.begin(), all.diff_ids.begin() + 2}};
  auto first = Apply("overlayfs", lower);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->layers_applied, 2);
  auto second = Apply("overlayfs", all);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->layers_reused, 2);
  EXPECT_EQ(second->layers_applied, 3);
  ASSERT_TRUE(Apply("native", all).ok());
  EXPECT_EQ(TreeOf("overlayfs", second->chain_id), TreeOf("native", second->chain_id));
}

TEST_F(ParallelApplyTest, TwoUnpacksOfOneImageBothSucceed) {
  Layers layers = Store(FiveLayers());
  absl::StatusOr<UnpackResult> a, b;
  std::thread other([&] { b = Apply("overlayfs", layers); });
  a = Apply("overlayfs", layers);
  other.join();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->layers_applied + b->layers_applied, 5) << "each layer is committed once";
  EXPECT_EQ(a->layers_applied + a->layers_reused, 5);
  EXPECT_EQ(Snapshots("overlayfs").size(), 5u);
  ASSERT_TRUE(Apply("native", layers).ok());
  EXPECT_EQ(TreeOf("overlayfs", a->chain_id), TreeOf("native", a->chain_id));
}

}  // namespace
}  // namespace berth::unpack
