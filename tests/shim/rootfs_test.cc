// DetachRootfs: a task's rootfs leaves the mount table at once, while the returned fds keep the
// mount (and what is in it) alive until they are closed. Privileged: skipped without root.

#include "runtime/shim/rootfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "plugins/base/file_util.h"
#include "plugins/base/temp_dir.h"

namespace berth::shim {
namespace {

bool Mounted(const std::string& path) {
  absl::StatusOr<std::string> table = ReadFile("/proc/self/mountinfo");
  return table.ok() && absl::StrContains(*table, " " + path + " ");
}

TEST(RootfsTest, DetachLeavesTheTableAndKeepsTheMountUntilClosed) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (mount)";
  absl::StatusOr<ScopedTempDir> dir = ScopedTempDir::Create("/tmp", "berth-rootfs-test");
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::string target = JoinPath(dir->path(), "rootfs");
  ASSERT_TRUE(MkdirAll(target).ok());
  ASSERT_EQ(mount("tmpfs", target.c_str(), "tmpfs", 0, "size=1m"), 0);
  ASSERT_EQ(mount("tmpfs", target.c_str(), "tmpfs", 0, "size=1m"), 0);  // two stacked
  ASSERT_TRUE(WriteFileReplace(JoinPath(target, "marker"), "top").ok());

  absl::StatusOr<std::vector<UniqueFd>> pinned = DetachRootfs(target);
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  EXPECT_EQ(pinned->size(), 2u);
  EXPECT_FALSE(Mounted(target));
  EXPECT_FALSE(PathExists(JoinPath(target, "marker")));
  // The top mount is still reachable through its fd: nothing was torn down yet.
  UniqueFd marker(openat(pinned->front().get(), "marker", O_RDONLY | O_CLOEXEC));
  EXPECT_TRUE(marker.valid());

  // Nothing mounted any more: an empty list, and the directory can go.
  absl::StatusOr<std::vector<UniqueFd>> again = DetachRootfs(target);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->empty());
  marker.Reset();
  pinned->clear();
  EXPECT_TRUE(RemoveAll(target).ok());
}

}  // namespace
}  // namespace berth::shim
