#include "snapshotter/disk_usage.h"

#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "gtest/gtest.h"
#include "plugins/base/file_util.h"
#include "plugins/base/temp_dir.h"

namespace berth::snapshotter {
namespace {

TEST(DiskUsageTest, CountsInodesOnceAndAllocatedBlocks) {
  auto dir = ScopedTempDir::Create("/tmp", "du-test-");
  ASSERT_TRUE(dir.ok());
  const std::string root = dir->path();
  auto empty = DiskUsage(root);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->inodes, 1);

  ASSERT_TRUE(WriteFileAtomic(root + "/big", std::string(256 << 10, 'x')).ok());
  ASSERT_EQ(link((root + "/big").c_str(), (root + "/again").c_str()), 0);
  ASSERT_EQ(mkdir((root + "/d").c_str(), 0755), 0);
  ASSERT_EQ(symlink("big", (root + "/d/l").c_str()), 0);
  auto usage = DiskUsage(root);
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->inodes, 4);  // root, big (twice linked), d, d/l
  EXPECT_GE(usage->size, 256 << 10);
  EXPECT_LT(usage->size, 512 << 10);
}

TEST(DiskUsageTest, MissingIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(DiskUsage("/nonexistent/berth").status()));
}

}  // namespace
}  // namespace berth::snapshotter
