// SnapshotterConformance, part 1: the fixture, and the metadata contract (kinds, errors,
// labels, remove, usage, walk) with content checks through the mounts.

#include "tests/conformance/snapshotter_conformance.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "plugins/base/file_util.h"

namespace berth::snapshotter::testing {
namespace {

using ::testing::Pair;
using ::testing::UnorderedElementsAre;

const Labels kNoLabels;

// Every mount point at or below `dir`, deepest first (from /proc/self/mountinfo).
std::vector<std::string> MountsBelow(const std::string& dir) {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    if (fields.size() > 4 && (fields[4] == dir || absl::StartsWith(fields[4], dir + "/"))) {
      out.push_back(fields[4]);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

}  // namespace

std::string SnapshotterFactoryName(const ::testing::TestParamInfo<SnapshotterFactory>& info) {
  return info.param.name;
}

::testing::AssertionResult WriteTestFile(const std::string& path, const std::string& content,
                                         mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return ::testing::AssertionFailure() << "open " << path << ": " << strerror(errno);
  ssize_t n = write(fd, content.data(), content.size());
  int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(content.size())) {
    return ::testing::AssertionFailure() << "write " << path << ": " << strerror(err);
  }
  if (chmod(path.c_str(), mode) != 0) {
    return ::testing::AssertionFailure() << "chmod " << path << ": " << strerror(errno);
  }
  return ::testing::AssertionSuccess();
}

std::string ReadTestFile(const std::string& path) {
  absl::StatusOr<std::string> content = ReadFile(path);
  if (!content.ok()) return absl::StrCat("error: ", content.status().ToString());
  return *content;
}

void SnapshotterConformance::SetUp() {
  if (geteuid() != 0) GTEST_SKIP() << "snapshotter conformance needs root to mount";
  absl::StatusOr<ScopedTempDir> dir = ScopedTempDir::Create("/tmp", "snapshotter-conformance-");
  ASSERT_TRUE(dir.ok()) << dir.status();
  dir_.emplace(std::move(*dir));
  root_ = JoinPath(dir_->path(), "root");
  work_ = JoinPath(dir_->path(), "work");
  ASSERT_TRUE(MkdirAll(root_, 0700).ok());
  ASSERT_TRUE(MkdirAll(work_, 0755).ok());
  absl::StatusOr<std::unique_ptr<Snapshotter>> s = GetParam().create(root_);
  if (absl::IsUnimplemented(s.status())) {
    GTEST_SKIP() << GetParam().name << " is not supported by this kernel: " << s.status();
  }
  ASSERT_TRUE(s.ok()) << s.status();
  snapshotter_ = std::move(*s);
}

void SnapshotterConformance::TearDown() {
  mounts_.clear();  // unmounts
  if (dir_.has_value()) {
    // Belt and braces: nothing may stay mounted below the directory we are about to delete.
    for (const std::string& mount_point : MountsBelow(dir_->path())) {
      ADD_FAILURE() << "left mounted: " << mount_point;
      umount2(mount_point.c_str(), MNT_DETACH);
    }
  }
  snapshotter_.reset();
  if (GetParam().cleanup && !root_.empty()) GetParam().cleanup(root_);
  dir_.reset();
}

void SnapshotterConformance::Reopen() {
  snapshotter_.reset();
  absl::StatusOr<std::unique_ptr<Snapshotter>> s = GetParam().create(root_);
  ASSERT_TRUE(s.ok()) << s.status();
  snapshotter_ = std::move(*s);
}

std::string SnapshotterConformance::MountAt(const std::vector<Mount>& mounts,
                                            const std::string& name) {
  std::string target = JoinPath(work_, name);
  if (absl::Status s = MkdirAll(target); !s.ok()) {
    ADD_FAILURE() << s;
    return "";
  }
  absl::StatusOr<ScopedMount> mounted = ScopedMount::Create(mounts, target);
  if (!mounted.ok()) {
    ADD_FAILURE() << "mount " << name << ": " << mounted.status();
    return "";
  }
  mounts_.push_back(std::move(*mounted));
  return target;
}

void SnapshotterConformance::Unmount(const std::string& path) {
  for (auto it = mounts_.begin(); it != mounts_.end(); ++it) {
    if (it->target() == path) {
      EXPECT_TRUE(it->Unmount().ok());
      mounts_.erase(it);
      return;
    }
  }
  ADD_FAILURE() << "not mounted by the test: " << path;
}

void SnapshotterConformance::CommitLayer(
    const std::string& name, const std::string& parent,
    const std::vector<std::pair<std::string, std::string>>& files) {
  std::string key = absl::StrCat("prepare-", name);
  absl::StatusOr<std::vector<Mount>> mounts = sn().Prepare(key, parent, kNoLabels);
  ASSERT_TRUE(mounts.ok()) << mounts.status();
  std::string dir = MountAt(*mounts, key);
  ASSERT_FALSE(dir.empty());
  for (const auto& [path, content] : files) {
    ASSERT_TRUE(WriteTestFile(JoinPath(dir, path), content));
  }
  Unmount(dir);
  absl::Status status = sn().Commit(name, key, kNoLabels);
  ASSERT_TRUE(status.ok()) << status;
}

namespace {

// --- Basic workflow and kinds -------------------------------------------------------------

TEST_P(SnapshotterConformance, Basic) {
  auto mounts = sn().Prepare("preparing", "", kNoLabels);
  ASSERT_TRUE(mounts.ok()) << mounts.status();
  ASSERT_FALSE(mounts->empty());
  std::string preparing = MountAt(*mounts, "preparing");
  ASSERT_FALSE(preparing.empty());
  ASSERT_TRUE(WriteTestFile(preparing + "/foo", "foo\n", 0777));
  ASSERT_EQ(mkdir((preparing + "/a").c_str(), 0755), 0);
  ASSERT_TRUE(WriteTestFile(preparing + "/a/b", "b\n"));
  ASSERT_EQ(symlink("b", (preparing + "/a/c").c_str()), 0);
  Unmount(preparing);

  ASSERT_TRUE(sn().Commit("committed", "preparing", {{"l", "v"}}).ok());
  auto info = sn().Stat("committed");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->name, "committed");
  EXPECT_EQ(info->kind, Kind::kCommitted);
  EXPECT_EQ(info->parent, "");
  EXPECT_THAT(info->labels, UnorderedElementsAre(Pair("l", "v")));
  EXPECT_TRUE(absl::IsNotFound(sn().Stat("preparing").status()));

  auto next_mounts = sn().Prepare("next", "committed", kNoLabels);
  ASSERT_TRUE(next_mounts.ok()) << next_mounts.status();
  std::string next = MountAt(*next_mounts, "next");
  ASSERT_FALSE(next.empty());
  EXPECT_EQ(ReadTestFile(next + "/foo"), "foo\n");
  EXPECT_EQ(ReadTestFile(next + "/a/c"), "b\n");
  ASSERT_TRUE(WriteTestFile(next + "/bar", "bar\n"));
  ASSERT_EQ(unlink((next + "/foo").c_str()), 0);
  Unmount(next);
  ASSERT_TRUE(sn().Commit("next-committed", "next", kNoLabels).ok());

  auto ni = sn().Stat("next-committed");
  ASSERT_TRUE(ni.ok());
  EXPECT_EQ(ni->parent, "committed");
  EXPECT_EQ(ni->kind, Kind::kCommitted);

  auto view_mounts = sn().View("view", "next-committed", kNoLabels);
  ASSERT_TRUE(view_mounts.ok()) << view_mounts.status();
  std::string view = MountAt(*view_mounts, "view");
  ASSERT_FALSE(view.empty());
  EXPECT_EQ(ReadTestFile(view + "/bar"), "bar\n");
  EXPECT_EQ(ReadTestFile(view + "/a/b"), "b\n");
  EXPECT_FALSE(PathExists(view + "/foo"));
  Unmount(view);

  EXPECT_TRUE(sn().Remove("view").ok());
  EXPECT_TRUE(sn().Remove("next-committed").ok());
  EXPECT_TRUE(sn().Remove("committed").ok());
  EXPECT_TRUE(absl::IsNotFound(sn().Stat("committed").status()));
}

TEST_P(SnapshotterConformance, StatActive) {
  absl::Time before = absl::Now();
  ASSERT_TRUE(sn().Prepare("active", "", {{"a", "1"}}).ok());
  auto info = sn().Stat("active");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->name, "active");
  EXPECT_EQ(info->kind, Kind::kActive);
  EXPECT_EQ(info->parent, "");
  EXPECT_THAT(info->labels, UnorderedElementsAre(Pair("a", "1")));
  EXPECT_GE(info->created_at, before);
  EXPECT_LE(info->created_at, absl::Now());
  EXPECT_EQ(info->created_at, info->updated_at);
}

TEST_P(SnapshotterConformance, StatCommitted) {
  ASSERT_NO_FATAL_FAILURE(CommitLayer("base", "", {{"f", "x"}}));
  ASSERT_TRUE(sn().Prepare("child", "base", kNoLabels).ok());
  auto info = sn().Stat("child");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->parent, "base");
  EXPECT_EQ(info->kind, Kind::kActive);
  auto base = sn().Stat("base");
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(base->kind, Kind::kCommitted);
  EXPECT_TRUE(absl::IsNotFound(sn().Stat("missing").status()));
}

TEST_P(SnapshotterConformance, Transitivity) {
  ASSERT_NO_FATAL_FAILURE(CommitLayer("a", "", {{"a", "from a"}, {"shared", "a"}}));
  ASSERT_NO_FATAL_FAILURE(CommitLayer("b", "a", {{"b", "from b"}, {"shared", "b"}}));
  ASSERT_NO_FATAL_FAILURE(CommitLayer("c", "b", {{"c", "from c"}}));
  auto mounts = sn().View("view", "c", kNoLabels);
  ASSERT_TRUE(mounts.ok()) << mounts.status();
  std::string view = MountAt(*mounts, "view");
  ASSERT_FALSE(view.empty());
  EXPECT_EQ(ReadTestFile(view + "/a"), "from a");
  EXPECT_EQ(ReadTestFile(view + "/b"), "from b");
  EXPECT_EQ(ReadTestFile(view + "/c"), "from c");
  EXPECT_EQ(ReadTestFile(view + "/shared"), "b");
  Unmount(view);
}

TEST_P(SnapshotterConformance, PrepareViewErrors) {
  ASSERT_NO_FATAL_FAILURE(CommitLayer("base", "", {}));
  ASSERT_TRUE(sn().Prepare("active", "base", kNoLabels).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(sn().Prepare("active", "base", kNoLabels).status()));
  EXPECT_TRUE(absl::IsAlreadyExists(sn().View("active", "base", kNoLabels).status()));
  EXPECT_TRUE(absl::IsAlreadyExists(sn().Prepare("base", "", kNoLabels).status()));
  ASSERT_TRUE(sn().View("view", "base", kNoLabels).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(sn().View("view", "base", kNoLabels).status()));
  EXPECT_TRUE(absl::IsNotFound(sn().Prepare("x", "missing", kNoLabels).status()));
  EXPECT_TRUE(absl::IsNotFound(sn().View("y", "missing", kNoLabels).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(sn().Prepare("z", "active", kNoLabels).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(sn().View("z", "view", kNoLabels).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(sn().Prepare("", "", kNoLabels).status()));
  // Failed calls leave nothing behind.
  for (const char* key : {"x", "y", "z"}) {
    EXPECT_TRUE(absl::IsNotFound(sn().Stat(key).status())) << key;
  }
}

TEST_P(SnapshotterConformance, CommitErrors) {
  ASSERT_NO_FATAL_FAILURE(CommitLayer("base", "", {}));
  ASSERT_TRUE(sn().View("view", "base", kNoLabels).ok());
  ASSERT_TRUE(sn().Prepare("active", "base", kNoLabels).ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(sn().Commit("c1", "view", kNoLabels)));
  EXPECT_TRUE(absl::IsFailedPrecondition(sn().Commit("c2", "base", kNoLabels)));
  EXPECT_TRUE(absl::IsNotFound(sn().Commit("c3", "missing", kNoLabels)));
  EXPECT_TRUE(absl::IsAlreadyExists(sn().Commit("base", "active", kNoLabels)));
  EXPECT_TRUE(absl::IsAlreadyExists(sn().Commit("view", "active", kNoLabels)));
  // The failed commits did not consume the active snapshot.
  auto info = sn().Stat("active");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->kind, Kind::kActive);
  EXPECT_TRUE(sn().Commit("c4", "active", kNoLabels).ok());
  EXPECT_TRUE(absl::IsNotFound(sn().Stat("active").status()));
  auto children = sn().Stat("c4");
  ASSERT_TRUE(children.ok());
  EXPECT_EQ(children->parent, "base");
}

TEST_P(SnapshotterConformance, Mounts) {
  ASSERT_NO_FATAL_FAILURE(CommitLayer("base", "", {}));
  auto prepared = sn().Prepare("active", "base", kNoLabels);
  ASSERT_TRUE(prepared.ok());
  auto again = sn().Mounts("active");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*prepared, *again);
  auto viewed = sn().View("view", "base", kNoLabels);
  ASSERT_TRUE(viewed.ok());
  auto view_again = sn().Mounts("view");
  ASSERT_TRUE(view_again.ok());
  EXPECT_EQ(*viewed, *view_again);
  EXPECT_TRUE(absl::IsFailedPrecondition(sn().Mounts("base").status()));
  EXPECT_TRUE(absl::IsNotFound(sn().Mounts("missing").status()));
}

TEST_P(SnapshotterConformance, KeysAreOpaqueStrings) {
  // Keys never become paths: these must neither escape the root nor collide.
  const std::vector<std::string> keys = {
      "../../../etc",        "a/b/c", "/abs", "sp ace", "ünï", "extract-1234 sha256:abcd",
      std::string(1000, 'k')};
  for (const std::string& key : keys) {
    auto mounts = sn().Prepare(key, "", kNoLabels);
    ASSERT_TRUE(mounts.ok()) << key << ": " << mounts.status();
    auto info = sn().Stat(key);
    ASSERT_TRUE(info.ok()) << key;
    EXPECT_EQ(info->name, key);
  }
  EXPECT_FALSE(PathExists("/etc/fs"));
  for (const std::string& key : keys) {
    ASSERT_TRUE(sn().Commit(key + "-c", key, kNoLabels).ok()) << key;
    EXPECT_TRUE(sn().Remove(key + "-c").ok()) << key;
  }
}

// --- Labels ------------------------------------------------------------------------------

TEST_P(SnapshotterConformance, Update) {
  ASSERT_NO_FATAL_FAILURE(CommitLayer("c1", "", {}));
  ASSERT_TRUE(sn().Prepare("a1", "c1", kNoLabels).ok());
  ASSERT_TRUE(sn().View("v1", "c1", kNoLabels).ok());
  for (const char* name : {"c1", "a1", "v1"}) {
    SCOPED_TRACE(name);
    auto st = sn().Stat(name);
    ASSERT_TRUE(st.ok());
    absl::Time created = st->created_at;
    Kind kind = st->kind;
    std::string parent = st->parent;

    SnapshotInfo info = *st;
    info.parent = "doesnotexist";  // ignored: only labels are mutable
    info.kind = Kind::kView;
    info.labels = {{"l1", "v1"}, {"l2", "v2"}, {"l3", "v3"}, {"root", "keep"}};
    absl::Time u1 = absl::Now();
    auto updated = sn().Update(info, {});
    ASSERT_TRUE(updated.ok()) << updated.status();
    EXPECT_EQ(updated->created_at, created);
    EXPECT_GE(updated->updated_at, u1);
    EXPECT_LE(updated->updated_at, absl::Now());
    EXPECT_EQ(updated->kind, kind);
    EXPECT_EQ(updated->parent, parent);
    EXPECT_EQ(updated->name, name);
    EXPECT_EQ(updated->labels, info.labels);

    info.labels = {{"l1", "updated"}, {"l4", "v4"}};
    std::vector<std::string> paths = {"labels.l1", "labels.l2"};
    updated = sn().Update(info, paths);
    ASSERT_TRUE(updated.ok()) << updated.status();
    EXPECT_EQ(updated->labels, (Labels{{"l1", "updated"}, {"l3", "v3"}, {"root", "keep"}}));

    info.labels = {{"l4", "v4"}, {"root", "keep"}};
    paths = {"labels"};
    updated = sn().Update(info, paths);
    ASSERT_TRUE(updated.ok());
    EXPECT_EQ(updated->labels, info.labels);
    auto stored = sn().Stat(name);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(stored->labels, info.labels);

    paths = {"parent"};
    EXPECT_TRUE(absl::IsInvalidArgument(sn().Update(info, paths).status()));
    paths = {"labels.l9", "name"};
    EXPECT_TRUE(absl::IsInvalidArgument(sn().Update(info, paths).status()));
    stored = sn().Stat(name);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(stored->labels, info.labels) << "a failed update changed nothing";
  }
  SnapshotInfo missing;
  missing.name = "missing";
  EXPECT_TRUE(absl::IsNotFound(sn().Update(missing, {}).status()));
}

TEST_P(SnapshotterConformance, CommitReplacesLabels) {
  ASSERT_TRUE(sn().Prepare("active", "", {{"from", "active"}}).ok());
  ASSERT_TRUE(sn().Commit("committed", "active", {{"from", "commit"}, {"x", "y"}}).ok());
  auto info = sn().Stat("committed");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->labels, (Labels{{"from", "commit"}, {"x", "y"}}));
}

// --- Remove ------------------------------------------------------------------------------

TEST_P(SnapshotterConformance, Remove) {
  ASSERT_NO_FATAL_FAILURE(CommitLayer("base", "", {{"f", "x"}}));
  ASSERT_NO_FATAL_FAILURE(CommitLayer("mid", "base", {{"g", "y"}}));
  ASSERT_TRUE(sn().Prepare("active", "mid", kNoLabels).ok());
  ASSERT_TRUE(sn().View("view", "base", kNoLabels).ok());

  EXPECT_TRUE(absl::IsFailedPrecondition(sn().Remove("base")));
  EXPECT_TRUE(absl::IsFailedPrecondition(sn().Remove("mid")));
  EXPECT_TRUE(absl::IsNotFound(sn().Remove("missing")));

  EXPECT_TRUE(sn().Remove("active").ok());
  EXPECT_TRUE(absl::IsNotFound(sn().Remove("active")));
  EXPECT_TRUE(sn().Remove("mid").ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(sn().Remove("base"))) << "the view is still a child";
  EXPECT_TRUE(sn().Remove("view").ok());
  EXPECT_TRUE(sn().Remove("base").ok());

  // Names are free again at once.
  ASSERT_NO_FATAL_FAILURE(CommitLayer("base", "", {{"f", "new"}}));
  auto mounts = sn().View("view", "base", kNoLabels);
  ASSERT_TRUE(mounts.ok());
  std::string view = MountAt(*mounts, "view2");
  ASSERT_FALSE(view.empty());
  EXPECT_EQ(ReadTestFile(view + "/f"), "new");
  Unmount(view);
  EXPECT_TRUE(sn().Cleanup().ok());
}

TEST_P(SnapshotterConformance, DeletedFilesInChild) {
  ASSERT_NO_FATAL_FAILURE(CommitLayer("base", "", {{"keep", "k"}, {"gone", "g"}}));
  ASSERT_EQ(sn().Prepare("child", "base", kNoLabels).ok(), true);
  auto mounts = sn().Mounts("child");
  ASSERT_TRUE(mounts.ok());
  std::string dir = MountAt(*mounts, "child");
  ASSERT_FALSE(dir.empty());
  ASSERT_EQ(unlink((dir + "/gone").c_str()), 0);
  ASSERT_EQ(mkdir((dir + "/d").c_str(), 0755), 0);
  Unmount(dir);
  ASSERT_TRUE(sn().Commit("child-c", "child", kNoLabels).ok());
  ASSERT_NO_FATAL_FAILURE(CommitLayer("grandchild", "child-c", {{"d/x", "x"}}));
  auto view_mounts = sn().View("view", "grandchild", kNoLabels);
  ASSERT_TRUE(view_mounts.ok());
  std::string view = MountAt(*view_mounts, "view");
  ASSERT_FALSE(view.empty());
  EXPECT_FALSE(PathExists(view + "/gone"));
  EXPECT_EQ(ReadTestFile(view + "/keep"), "k");
  EXPECT_EQ(ReadTestFile(view + "/d/x"), "x");
  Unmount(view);
}

// --- Usage -------------------------------------------------------------------------------

TEST_P(SnapshotterConformance, Usage) {
  auto mounts = sn().Prepare("active", "", kNoLabels);
  ASSERT_TRUE(mounts.ok());
  auto empty = sn().Usage("active");
  ASSERT_TRUE(empty.ok()) << empty.status();
  std::string dir = MountAt(*mounts, "active");
  ASSERT_FALSE(dir.empty());
  ASSERT_TRUE(WriteTestFile(dir + "/big", std::string(1 << 20, 'x')));
  ASSERT_EQ(link((dir + "/big").c_str(), (dir + "/big-link").c_str()), 0);
  ASSERT_EQ(mkdir((dir + "/sub").c_str(), 0755), 0);
  ASSERT_TRUE(WriteTestFile(dir + "/sub/small", "s"));
  sync();
  auto usage = sn().Usage("active");
  ASSERT_TRUE(usage.ok()) << usage.status();
  // big (hard-linked: counted once), sub, sub/small, on top of the empty snapshot.
  EXPECT_EQ(usage->inodes, empty->inodes + 3);
  EXPECT_GE(usage->size, (1 << 20));
  EXPECT_LT(usage->size, 2 * (1 << 20)) << "a hard link must not count twice";
  Unmount(dir);

  ASSERT_TRUE(sn().Commit("committed", "active", kNoLabels).ok());
  auto committed = sn().Usage("committed");
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(committed->inodes, usage->inodes);
  EXPECT_EQ(committed->size, usage->size);
  EXPECT_TRUE(absl::IsNotFound(sn().Usage("missing").status()));
}

// --- Walk --------------------------------------------------------------------------------

TEST_P(SnapshotterConformance, Walk) {
  ASSERT_TRUE(sn().Prepare("a-np", "", kNoLabels).ok());
  ASSERT_NO_FATAL_FAILURE(CommitLayer("p", "", {}));
  ASSERT_TRUE(sn().Prepare("a", "p", {{"l", "2"}}).ok());
  ASSERT_TRUE(sn().View("v", "p", {{"l", "3"}}).ok());
  std::map<std::string, SnapshotInfo> seen;
  ASSERT_TRUE(sn().Walk([&](const SnapshotInfo& info) {
                    seen[info.name] = info;
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen["a-np"].kind, Kind::kActive);
  EXPECT_EQ(seen["p"].kind, Kind::kCommitted);
  EXPECT_EQ(seen["a"].parent, "p");
  EXPECT_EQ(seen["a"].labels, (Labels{{"l", "2"}}));
  EXPECT_EQ(seen["v"].kind, Kind::kView);
  EXPECT_EQ(seen["v"].labels, (Labels{{"l", "3"}}));

  int calls = 0;
  absl::Status stop = sn().Walk([&](const SnapshotInfo&) {
    ++calls;
    return absl::CancelledError("stop");
  });
  EXPECT_TRUE(absl::IsCancelled(stop));
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace berth::snapshotter::testing
