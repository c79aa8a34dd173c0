// SnapshotterConformance, part 2: what the mounts show (read-only views, owners and modes
// through layers, many layers), and durability and concurrency.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "plugins/base/file_util.h"
#include "tests/conformance/snapshotter_conformance.h"

namespace berth::snapshotter::testing {
namespace {

const Labels kNoLabels;

// --- Filesystem semantics ----------------------------------------------------------------

TEST_P(SnapshotterConformance, ViewReadonly) {
  ASSERT_NO_FATAL_FAILURE(CommitLayer("base", "", {{"f", "x"}}));
  ASSERT_NO_FATAL_FAILURE(CommitLayer("top", "base", {{"g", "y"}}));
  for (const char* parent : {"base", "top"}) {  // one parent, and a chain
    SCOPED_TRACE(parent);
    std::string key = absl::StrCat("view-", parent);
    auto mounts = sn().View(key, parent, kNoLabels);
    ASSERT_TRUE(mounts.ok());
    std::string view = MountAt(*mounts, key);
    ASSERT_FALSE(view.empty());
    int fd = open((view + "/new").c_str(), O_WRONLY | O_CREAT, 0644);
    EXPECT_LT(fd, 0);
    EXPECT_EQ(errno, EROFS);
    if (fd >= 0) close(fd);
    EXPECT_EQ(ReadTestFile(view + "/f"), "x");
    Unmount(view);
  }
}

TEST_P(SnapshotterConformance, RootPermission) {
  auto mounts = sn().Prepare("active", "", kNoLabels);
  ASSERT_TRUE(mounts.ok());
  std::string dir = MountAt(*mounts, "active");
  ASSERT_FALSE(dir.empty());
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  Unmount(dir);
}

TEST_P(SnapshotterConformance, OwnersAndModesCarryThroughLayers) {
  auto mounts = sn().Prepare("active", "", kNoLabels);
  ASSERT_TRUE(mounts.ok());
  std::string dir = MountAt(*mounts, "active");
  ASSERT_FALSE(dir.empty());
  ASSERT_TRUE(WriteTestFile(dir + "/owned", "o", 04750));
  ASSERT_EQ(chown((dir + "/owned").c_str(), 1234, 5678), 0);
  ASSERT_EQ(chmod((dir + "/owned").c_str(), 04750), 0);
  ASSERT_EQ(chown(dir.c_str(), 42, 43), 0);
  ASSERT_EQ(mkfifo((dir + "/fifo").c_str(), 0600), 0);
  Unmount(dir);
  ASSERT_TRUE(sn().Commit("base", "active", kNoLabels).ok());
  ASSERT_NO_FATAL_FAILURE(CommitLayer("top", "base", {{"other", "x"}}));

  auto view_mounts = sn().View("view", "top", kNoLabels);
  ASSERT_TRUE(view_mounts.ok());
  std::string view = MountAt(*view_mounts, "view");
  ASSERT_FALSE(view.empty());
  struct stat st;
  ASSERT_EQ(stat((view + "/owned").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mode & 07777, 04750u);
  ASSERT_EQ(stat(view.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 42u) << "the root keeps its owner across layers";
  ASSERT_EQ(lstat((view + "/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  Unmount(view);
}

// --- Durability and concurrency ---------------------------------------------------------

TEST_P(SnapshotterConformance, SurvivesRestart) {
  ASSERT_NO_FATAL_FAILURE(CommitLayer("base", "", {{"f", "persisted"}}));
  auto prepared = sn().Prepare("active", "base", {{"k", "v"}});
  ASSERT_TRUE(prepared.ok());
  ASSERT_NO_FATAL_FAILURE(Reopen());
  auto info = sn().Stat("active");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->labels, (Labels{{"k", "v"}}));
  auto mounts = sn().Mounts("active");
  ASSERT_TRUE(mounts.ok());
  EXPECT_EQ(*mounts, *prepared);
  std::string dir = MountAt(*mounts, "active");
  ASSERT_FALSE(dir.empty());
  EXPECT_EQ(ReadTestFile(dir + "/f"), "persisted");
  Unmount(dir);
  // Ids keep growing after a restart: a new snapshot never reuses a directory.
  ASSERT_NO_FATAL_FAILURE(CommitLayer("second", "base", {{"g", "new"}}));
  auto view = sn().View("view", "second", kNoLabels);
  ASSERT_TRUE(view.ok());
  std::string v = MountAt(*view, "view");
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(ReadTestFile(v + "/g"), "new");
  EXPECT_EQ(ReadTestFile(v + "/f"), "persisted");
  Unmount(v);
}

TEST_P(SnapshotterConformance, ConcurrentPrepares) {
  ASSERT_NO_FATAL_FAILURE(CommitLayer("base", "", {{"f", "x"}}));
  constexpr int kThreads = 4, kPerThread = 8;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = absl::StrCat("k-", t, "-", i);
        if (!sn().Prepare(key, "base", kNoLabels).ok()) ++failures;
        if (!sn().Prepare("contended", "base", kNoLabels).ok()) {
          // all but one of these fail with kAlreadyExists, which is the point
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  int count = 0;
  ASSERT_TRUE(sn().Walk([&](const SnapshotInfo&) {
                    ++count;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(count, 1 + kThreads * kPerThread + 1);
}

// --- Many layers -------------------------------------------------------------------------

// containerd's check128LayersMount, at 120 layers: each layer overwrites one file and adds
// another; the top view shows the bottom layer's file, every layer's addition, and the
// topmost overwrite.
TEST_P(SnapshotterConformance, ManyLayersMount) {
  constexpr int kLayers = 120;
  std::string parent;
  for (int i = 0; i < kLayers; ++i) {
    std::string name = absl::StrCat("layer-", i);
    std::vector<std::pair<std::string, std::string>> files = {
        {"overwriteme", absl::StrCat(i, " WAS HERE")}, {absl::StrCat("file-", i), "same"}};
    if (i == 0) files.push_back({"bottom", "way at the bottom"});
    ASSERT_NO_FATAL_FAILURE(CommitLayer(name, parent, files)) << "layer " << i;
    parent = name;
  }
  auto mounts = sn().View("fullview", parent, kNoLabels);
  ASSERT_TRUE(mounts.ok()) << mounts.status();
  std::string view = MountAt(*mounts, "fullview");
  ASSERT_FALSE(view.empty());
  EXPECT_EQ(ReadTestFile(view + "/bottom"), "way at the bottom");
  EXPECT_EQ(ReadTestFile(view + "/overwriteme"), absl::StrCat(kLayers - 1, " WAS HERE"));
  for (int i = 0; i < kLayers; ++i) {
    EXPECT_EQ(ReadTestFile(absl::StrCat(view, "/file-", i)), "same");
  }
  Unmount(view);
  // And writable on top of all of them.
  auto active = sn().Prepare("top", parent, kNoLabels);
  ASSERT_TRUE(active.ok());
  std::string top = MountAt(*active, "top");
  ASSERT_FALSE(top.empty());
  EXPECT_EQ(ReadTestFile(top + "/bottom"), "way at the bottom");
  EXPECT_TRUE(WriteTestFile(top + "/bottom", "changed"));
  Unmount(top);
}

}  // namespace
}  // namespace berth::snapshotter::testing
