// The conformance suite on OverlaySnapshotter, plus what only overlay has: the shape of its
// mounts, and the page limit on mount options with many layers (see snapshotter/mount.h).

#include <dirent.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>

#include "absl/algorithm/container.h"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "plugins/base/file_util.h"
#include "snapshotter/mount_util.h"
#include "snapshotter/overlay/overlay_snapshotter.h"
#include "tests/conformance/snapshotter_conformance.h"

namespace berth::snapshotter::testing {
namespace {

using overlay::OverlayOptions;
using overlay::OverlaySnapshotter;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Removes the short links a snapshotter rooted at `root` left in `link_dir`.
void RemoveLinksTo(const std::string& root, const std::string& link_dir = "/run/berth/l") {
  DIR* dir = opendir(link_dir.c_str());
  if (dir == nullptr) return;
  while (struct dirent* entry = readdir(dir)) {
    std::string path = JoinPath(link_dir, entry->d_name);
    char target[4096];
    ssize_t n = readlink(path.c_str(), target, sizeof(target));
    if (n > 0 && absl::StartsWith(absl::string_view(target, n), root)) unlink(path.c_str());
  }
  closedir(dir);
}

absl::StatusOr<std::unique_ptr<Snapshotter>> CreateOverlay(const std::string& root) {
  auto s = OverlaySnapshotter::Create(root);
  if (!s.ok()) return s.status();
  return std::unique_ptr<Snapshotter>(std::move(*s));
}

// As berthd configures it (snapshotter/plugin/plugin.cc): removals committed without a sync.
absl::StatusOr<std::unique_ptr<Snapshotter>> CreateOverlayUnsyncedRemove(
    const std::string& root) {
  OverlayOptions options;
  options.synced_remove = false;
  auto s = OverlaySnapshotter::Create(root, options);
  if (!s.ok()) return s.status();
  return std::unique_ptr<Snapshotter>(std::move(*s));
}

INSTANTIATE_TEST_SUITE_P(Overlay, SnapshotterConformance,
                         ::testing::Values(SnapshotterFactory{"overlayfs", &CreateOverlay,
                                                              [](const std::string& root) {
                                                                RemoveLinksTo(root);
                                                              }},
                                           SnapshotterFactory{"overlayfs_unsynced_remove",
                                                              &CreateOverlayUnsyncedRemove,
                                                              [](const std::string& root) {
                                                                RemoveLinksTo(root);
                                                              }}),
                         SnapshotterFactoryName);

// --- Overlay specifics --------------------------------------------------------------------

std::string Option(const Mount& m, absl::string_view prefix) {
  for (const std::string& o : m.options) {
    if (absl::StartsWith(o, prefix)) return o.substr(prefix.size());
  }
  return "";
}

class OverlayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "overlay tests need root";
    auto dir = ScopedTempDir::Create("/tmp", "overlay-test-");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(*dir));
  }
  void TearDown() override {
    mounts_.clear();
    sn_.reset();
    if (dir_.has_value()) RemoveLinksTo(dir_->path());
    dir_.reset();
  }
  // Opens a snapshotter on <tmp>/<sub>; skips the test if the kernel has no overlayfs.
  void Open(const std::string& sub, const OverlayOptions& options = {}) {
    auto s = OverlaySnapshotter::Create(JoinPath(dir_->path(), sub), options);
    if (absl::IsUnimplemented(s.status())) GTEST_SKIP() << "overlayfs not supported by this kernel";
    ASSERT_TRUE(s.ok()) << s.status();
    sn_ = std::move(*s);
  }
  // A chain of `n` committed layers, written straight into each upper dir (no mounting: the
  // mounts' upperdir= names it). Layer 0 has /bottom; every layer i has /file-i.
  void MakeChain(int n, std::string* top) {
    std::string parent;
    for (int i = 0; i < n; ++i) {
      std::string key = absl::StrCat("prep-", i);
      auto mounts = sn_->Prepare(key, parent, {});
      ASSERT_TRUE(mounts.ok()) << mounts.status();
      std::string upper = mounts->front().type == "bind" ? mounts->front().source
                                                         : Option(mounts->front(), "upperdir=");
      ASSERT_FALSE(upper.empty());
      if (i == 0) {
        ASSERT_TRUE(WriteTestFile(upper + "/bottom", "way at the bottom"));
      }
      ASSERT_TRUE(WriteTestFile(absl::StrCat(upper, "/file-", i), absl::StrCat(i)));
      std::string name = absl::StrCat("layer-", i);
      ASSERT_TRUE(sn_->Commit(name, key, {}).ok());
      parent = name;
    }
    *top = parent;
  }
  std::string Target(const std::string& name) {
    std::string target = JoinPath(dir_->path(), name);
    EXPECT_TRUE(MkdirAll(target).ok());
    return target;
  }

  std::optional<ScopedTempDir> dir_;
  std::unique_ptr<OverlaySnapshotter> sn_;
  std::vector<ScopedMount> mounts_;
};

TEST_F(OverlayTest, MountShapes) {
  ASSERT_NO_FATAL_FAILURE(Open("root"));
  auto single = sn_->Prepare("single", "", {});
  ASSERT_TRUE(single.ok());
  ASSERT_EQ(single->size(), 1u);
  EXPECT_EQ((*single)[0].type, "bind");
  EXPECT_THAT((*single)[0].options, ElementsAre("rw", "rbind"));
  EXPECT_TRUE(absl::EndsWith((*single)[0].source, "/fs"));

  auto empty_view = sn_->View("empty-view", "", {});
  ASSERT_TRUE(empty_view.ok());
  EXPECT_THAT((*empty_view)[0].options, ElementsAre("ro", "rbind"));

  ASSERT_TRUE(sn_->Commit("base", "single", {}).ok());
  auto view1 = sn_->View("view1", "base", {});
  ASSERT_TRUE(view1.ok());
  EXPECT_EQ((*view1)[0].type, "bind");
  EXPECT_EQ((*view1)[0].source, (*single)[0].source) << "a view of one layer binds that layer";
  EXPECT_THAT((*view1)[0].options, ElementsAre("ro", "rbind"));

  auto active = sn_->Prepare("active", "base", {});
  ASSERT_TRUE(active.ok());
  const Mount& m = (*active)[0];
  EXPECT_EQ(m.type, "overlay");
  EXPECT_EQ(m.source, "overlay");
  std::string upper = Option(m, "upperdir=");
  std::string work = Option(m, "workdir=");
  std::string lower = Option(m, "lowerdir=");
  EXPECT_TRUE(absl::EndsWith(upper, "/fs"));
  EXPECT_TRUE(absl::EndsWith(work, "/work"));
  EXPECT_TRUE(absl::StartsWith(upper, sn_->link())) << "paths go through the short link";
  EXPECT_FALSE(absl::StrContains(lower, ":"));
  bool index_on =
      absl::StartsWith(ReadFile("/sys/module/overlay/parameters/index").value_or(""), "Y");
  EXPECT_EQ(absl::c_linear_search(m.options, "index=off"), index_on);

  ASSERT_TRUE(sn_->Commit("second", "active", {}).ok());
  auto view2 = sn_->View("view2", "second", {});
  ASSERT_TRUE(view2.ok());
  EXPECT_EQ((*view2)[0].type, "overlay");
  EXPECT_EQ(Option((*view2)[0], "upperdir="), "") << "a view has no upper dir";
  std::vector<std::string> lowers = absl::StrSplit(Option((*view2)[0], "lowerdir="), ':');
  ASSERT_EQ(lowers.size(), 2u);
  EXPECT_EQ(lowers[0], upper) << "nearest parent first";
}

// The headline requirement: 120 layers mount with a plain mount(2) from another process
// (here /usr/bin/mount, as a shim or runtime would), because the options fit in a page.
TEST_F(OverlayTest, ManyLayersFitInAPageAndMountFromAnotherProcess) {
  // A deliberately long root: the option length must not depend on it.
  ASSERT_NO_FATAL_FAILURE(
      Open("a-rather-long-directory-name-for-the-snapshotter-root/var/lib/berth/"
           "io.containerd.snapshotter.v1.overlayfs"));
  std::string top;
  ASSERT_NO_FATAL_FAILURE(MakeChain(120, &top));
  auto mounts = sn_->Prepare("container", top, {});
  ASSERT_TRUE(mounts.ok()) << mounts.status();
  ASSERT_EQ(mounts->size(), 1u);
  std::string data = absl::StrJoin((*mounts)[0].options, ",");
  EXPECT_LT(data.size(), 4096u) << "mount data must fit in one page";
  std::vector<std::string> lowers = absl::StrSplit(Option((*mounts)[0], "lowerdir="), ':');
  EXPECT_EQ(lowers.size(), 120u);

  std::string target = Target("rootfs");
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/usr/bin/mount", "mount", "-t", "overlay", "overlay", "-o", data.c_str(), target.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 127) {
    GTEST_SKIP() << "no /usr/bin/mount";
  }
  ASSERT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << "mount(8) failed";
  absl::Cleanup unmount = [&] { (void)UnmountAll(target, MNT_DETACH); };
  EXPECT_EQ(ReadTestFile(target + "/bottom"), "way at the bottom");
  EXPECT_EQ(ReadTestFile(target + "/file-119"), "119");
  EXPECT_TRUE(WriteTestFile(target + "/written", "on top"));
  std::move(unmount).Invoke();
  EXPECT_TRUE(UnmountAll(target).ok());

  // Our own helper does the same.
  auto mounted = ScopedMount::Create(*mounts, target);
  ASSERT_TRUE(mounted.ok()) << mounted.status();
  EXPECT_EQ(ReadTestFile(target + "/written"), "on top");
  EXPECT_EQ(ReadTestFile(target + "/file-0"), "0");
  EXPECT_TRUE(mounted->Unmount().ok());
}

// Without the short link, 120 long lowerdir paths overflow the page; MountAll then compacts
// them relative to their common directory (mount.h) and the mount still works.
TEST_F(OverlayTest, MountAllCompactsOptionsLongerThanAPage) {
  OverlayOptions options;
  options.link_dir = "";
  ASSERT_NO_FATAL_FAILURE(Open("some-long-root-directory-name-to-overflow-the-page", options));
  std::string top;
  ASSERT_NO_FATAL_FAILURE(MakeChain(120, &top));
  auto mounts = sn_->View("view", top, {});
  ASSERT_TRUE(mounts.ok());
  EXPECT_GT(absl::StrJoin((*mounts)[0].options, ",").size(), 4096u);
  std::string target = Target("view");
  EXPECT_TRUE(WithTempMount(
                  *mounts,
                  [&](const std::string& root) {
                    EXPECT_EQ(ReadTestFile(root + "/bottom"), "way at the bottom");
                    EXPECT_EQ(ReadTestFile(root + "/file-77"), "77");
                    return absl::OkStatus();
                  },
                  dir_->path())
                  .ok());
}

// Cleanup removes what no snapshot owns (interrupted creates, removals deferred with
// async_remove) and nothing else.
TEST_F(OverlayTest, CleanupRemovesOnlyOrphans) {
  OverlayOptions options;
  options.async_remove = true;
  ASSERT_NO_FATAL_FAILURE(Open("root", options));
  auto kept = sn_->Prepare("kept", "", {});
  ASSERT_TRUE(kept.ok());
  auto removed = sn_->Prepare("removed", "", {});
  ASSERT_TRUE(removed.ok());
  std::string kept_dir = (*kept)[0].source;
  std::string removed_dir = (*removed)[0].source;
  ASSERT_TRUE(sn_->Remove("removed").ok());
  EXPECT_TRUE(PathExists(removed_dir)) << "async_remove defers deletion";
  std::string snapshots = sn_->root() + "/snapshots";
  ASSERT_TRUE(MkdirAll(snapshots + "/new-interrupted/fs").ok());
  ASSERT_TRUE(MkdirAll(snapshots + "/999/fs").ok());

  ASSERT_TRUE(sn_->Cleanup().ok());
  EXPECT_FALSE(PathExists(removed_dir));
  EXPECT_FALSE(PathExists(snapshots + "/new-interrupted"));
  EXPECT_FALSE(PathExists(snapshots + "/999"));
  EXPECT_TRUE(PathExists(kept_dir));
  EXPECT_TRUE(sn_->Stat("kept").ok());
}

// What a machine crash right after an unsynced Remove can leave: the snapshot's record back,
// its directories gone. Removing it again (berthd's orphan sweep does) works and leaves
// nothing; its parent can then go too.
TEST_F(OverlayTest, ARecordWhoseDirectoriesAreGoneIsRemovedAgain) {
  OverlayOptions options;
  options.synced_remove = false;
  ASSERT_NO_FATAL_FAILURE(Open("root", options));
  ASSERT_TRUE(sn_->Prepare("base-active", "", {}).ok());
  ASSERT_TRUE(sn_->Commit("base", "base-active", {}).ok());
  auto child = sn_->Prepare("child", "base", {});
  ASSERT_TRUE(child.ok());
  std::string child_dir = Option((*child)[0], "upperdir=");
  child_dir = child_dir.substr(0, child_dir.rfind('/'));
  ASSERT_TRUE(PathExists(child_dir));
  ASSERT_TRUE(RemoveAll(child_dir).ok());

  EXPECT_TRUE(sn_->Remove("child").ok());
  EXPECT_TRUE(absl::IsNotFound(sn_->Stat("child").status()));
  EXPECT_TRUE(sn_->Remove("base").ok());
  EXPECT_TRUE(absl::IsNotFound(sn_->Stat("base").status()));
  EXPECT_TRUE(sn_->Cleanup().ok());
}

// WithTempMount always unmounts and removes its directory, even when the callback fails.
TEST_F(OverlayTest, WithTempMountAlwaysUnmounts) {
  ASSERT_NO_FATAL_FAILURE(Open("root"));
  auto mounts = sn_->Prepare("a", "", {});
  ASSERT_TRUE(mounts.ok());
  std::string seen;
  absl::Status status = WithTempMount(
      *mounts,
      [&](const std::string& root) {
        seen = root;
        EXPECT_TRUE(WriteTestFile(root + "/x", "x"));
        return absl::InternalError("callback failed");
      },
      dir_->path());
  EXPECT_TRUE(absl::IsInternal(status));
  EXPECT_FALSE(seen.empty());
  EXPECT_FALSE(PathExists(seen)) << "temp mount dir removed";
  EXPECT_EQ(ReadTestFile((*mounts)[0].source + "/x"), "x");
}

}  // namespace
}  // namespace berth::snapshotter::testing
