// Apply and Diff through real snapshotters: the overlay fast paths (extract into the upper dir,
// diff by walking it), native's mounted-tree path (bind mount source, double walk), and round
// trips where a diff applied onto the parent reproduces the child.

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "plugins/base/file_util.h"
#include "plugins/base/temp_dir.h"
#include "services/diff/applier.h"
#include "services/diff/write_diff.h"
#include "snapshotter/mount_util.h"
#include "snapshotter/native/native_snapshotter.h"
#include "snapshotter/overlay/overlay_snapshotter.h"
#include "tests/diff/tar_builder.h"
#include "tests/diff/tree.h"

namespace berth::diff {
namespace {

using snapshotter::Mount;
using snapshotter::Snapshotter;
using testing::MountedTree;
using testing::TarBuilder;

ReadFn ReadString(const std::string& data) {
  return [&data, offset = size_t{0}](absl::Span<char> buf) mutable -> absl::StatusOr<size_t> {
    size_t n = std::min(buf.size(), data.size() - offset);
    memcpy(buf.data(), data.data() + offset, n);
    offset += n;
    return n;
  };
}

class RoundTripTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create("/tmp", "berth-diff-");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(*std::move(dir));
  }

  std::unique_ptr<Snapshotter> Native(const std::string& name) {
    auto s = snapshotter::native::NativeSnapshotter::Create(dir_->path() + "/" + name);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }

  std::unique_ptr<Snapshotter> Overlay() {
    snapshotter::overlay::OverlayOptions options;
    options.link_dir = "";
    auto s = snapshotter::overlay::OverlaySnapshotter::Create(dir_->path() + "/overlay", options);
    if (!s.ok()) return nullptr;
    return std::move(*s);
  }

  // Prepare(key, parent), apply `blob`, Commit(name). Returns the diffID.
  content::Digest Layer(Snapshotter& sn, const std::string& name, const std::string& parent,
                        const std::string& blob, Compression c) {
    auto mounts = sn.Prepare(name + "-active", parent, {});
    EXPECT_TRUE(mounts.ok()) << mounts.status();
    auto applied = ApplyLayer(*mounts, LayerMediaType(c), testing::DigestOf(blob),
                              ReadString(blob), {});
    EXPECT_TRUE(applied.ok()) << applied.status();
    EXPECT_TRUE(sn.Commit(name, name + "-active", {}).ok());
    return applied.ok() ? applied->digest : content::Digest();
  }

  std::string BaseLayer() {
    return TarBuilder()
        .Dir("a")
        .File("a/b", "1")
        .File("c", "2")
        .Dir("d")
        .File("d/e", "3")
        .File("d/f", "4")
        .Symlink("s", "a/b")
        .Build(Compression::kGzip);
  }
  std::string WhiteoutLayer() {
    return TarBuilder()
        .File(".wh.c", "")
        .Dir("d")
        .File("d/.wh..wh..opq", "")
        .File("d/g", "5")
        .File("a/new", "6")
        .Build(Compression::kZstd);
  }

  std::optional<ScopedTempDir> dir_;
};

TEST_F(RoundTripTest, WhiteoutsOnOverlayAndNativeGiveTheSameTree) {
  auto overlay = Overlay();
  if (overlay == nullptr) GTEST_SKIP() << "overlayfs unavailable";
  auto native = Native("native");
  for (Snapshotter* sn : {overlay.get(), native.get()}) {
    Layer(*sn, "base", "", BaseLayer(), Compression::kGzip);
    Layer(*sn, "top", "base", WhiteoutLayer(), Compression::kZstd);
  }
  auto overlay_mounts = overlay->View("v", "top", {});
  auto native_mounts = native->View("v", "top", {});
  ASSERT_TRUE(overlay_mounts.ok() && native_mounts.ok());
  auto overlay_tree = MountedTree(*overlay_mounts);
  auto native_tree = MountedTree(*native_mounts);
  EXPECT_EQ(overlay_tree, native_tree);
  EXPECT_EQ(overlay_tree.count("c"), 0u);
  EXPECT_EQ(overlay_tree.count("d/e"), 0u);
  EXPECT_EQ(overlay_tree.count("d/g"), 1u);
  EXPECT_EQ(overlay_tree.count("a/new"), 1u);
}

// A layer that names "u/v/file" without entries for "u" and "u/v": on overlay those are made in
// the upper dir and take their attributes from the lower layers (as containerd's applier), so
// the merged tree shows what native shows, not 0755 root.
TEST_F(RoundTripTest, ImpliedDirectoriesKeepTheLowerLayersAttributes) {
  auto overlay = Overlay();
  if (overlay == nullptr) GTEST_SKIP() << "overlayfs unavailable";
  auto native = Native("native");
  TarBuilder::Attrs user_dir{.mode = 02750, .uid = 1000, .gid = 1001,
                             .xattrs = {{"user.note", "kept"}}};
  std::string base = TarBuilder()
                         .Dir("u", user_dir)
                         .Dir("u/v", {.mode = 0700, .uid = 7, .gid = 7})
                         .File("w", "not a dir")
                         .Build(Compression::kGzip);
  std::string top = TarBuilder()
                        .File("u/v/file", "f")
                        .File("w2/file", "no lower has w2")
                        .Build(Compression::kGzip);
  for (Snapshotter* sn : {overlay.get(), native.get()}) {
    Layer(*sn, "base", "", base, Compression::kGzip);
    Layer(*sn, "top", "base", top, Compression::kGzip);
  }
  auto overlay_mounts = overlay->View("v", "top", {});
  auto native_mounts = native->View("v", "top", {});
  ASSERT_TRUE(overlay_mounts.ok() && native_mounts.ok());
  auto overlay_tree = MountedTree(*overlay_mounts);
  EXPECT_EQ(overlay_tree, MountedTree(*native_mounts));
  EXPECT_EQ(overlay_tree["u"], absl::StrCat(S_IFDIR | 02750, " 1000 1001 "));
  EXPECT_EQ(overlay_tree["u/v"], absl::StrCat(S_IFDIR | 0700, " 7 7 "));
  EXPECT_EQ(overlay_tree["w2"], absl::StrCat(S_IFDIR | 0755, " 0 0 "));
  ASSERT_TRUE(snapshotter::WithTempMount(*overlay_mounts, [](const std::string& root) {
                char value[16] = {};
                EXPECT_EQ(getxattr((root + "/u").c_str(), "user.note", value, sizeof(value)), 4);
                EXPECT_STREQ(value, "kept");
                return absl::OkStatus();
              }).ok());
}

// Diff(parent, child) applied onto the parent elsewhere reproduces the child.
void RoundTrip(Snapshotter& sn, Snapshotter& target, Compression c) {
  auto lower = sn.View("lower", "base", {});
  auto upper = sn.Prepare("child", "base", {});
  ASSERT_TRUE(lower.ok() && upper.ok());
  // Change the child: add, modify, delete a file, delete a directory, add a symlink.
  ASSERT_TRUE(snapshotter::WithTempMount(*upper, [](const std::string& root) {
                std::ofstream(root + "/a/added") << "added";
                std::ofstream(root + "/a/b") << "modified";
                unlink((root + "/c").c_str());
                RemoveAll(root + "/d").IgnoreError();
                symlink("/nowhere", (root + "/link").c_str());
                return absl::OkStatus();
              }).ok());
  std::string blob;
  auto written = WriteLayer(*lower, *upper, c, [&](absl::string_view data) {
    blob.append(data.data(), data.size());
    return absl::OkStatus();
  });
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->digest, testing::DigestOf(blob));
  auto child_tree = MountedTree(*upper);

  auto mounts = target.Prepare("replay", "base", {});
  ASSERT_TRUE(mounts.ok());
  auto applied = ApplyLayer(*mounts, LayerMediaType(c), written->digest, ReadString(blob), {});
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(applied->digest, written->uncompressed);
  EXPECT_EQ(MountedTree(*mounts), child_tree);
  EXPECT_EQ(child_tree.count("c"), 0u);
  EXPECT_EQ(child_tree.count("a/added"), 1u);
}

TEST_F(RoundTripTest, NativeDoubleWalkRoundTrip) {
  auto native = Native("native");
  auto target = Native("target");
  Layer(*native, "base", "", BaseLayer(), Compression::kGzip);
  Layer(*target, "base", "", BaseLayer(), Compression::kGzip);
  RoundTrip(*native, *target, Compression::kGzip);
}

TEST_F(RoundTripTest, OverlayUpperDirRoundTrip) {
  auto overlay = Overlay();
  if (overlay == nullptr) GTEST_SKIP() << "overlayfs unavailable";
  auto target = Native("target");
  Layer(*overlay, "base", "", BaseLayer(), Compression::kGzip);
  Layer(*target, "base", "", BaseLayer(), Compression::kGzip);
  RoundTrip(*overlay, *target, Compression::kZstd);
}

}  // namespace
}  // namespace berth::diff
