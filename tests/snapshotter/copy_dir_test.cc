#include "snapshotter/native/copy_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>

#include "gtest/gtest.h"
#include "plugins/base/file_util.h"
#include "plugins/base/temp_dir.h"

namespace berth::snapshotter::native {
namespace {

class CopyDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create("/tmp", "copydir-test-");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(*dir));
    src_ = dir_->path() + "/src";
    dst_ = dir_->path() + "/dst";
    ASSERT_EQ(mkdir(src_.c_str(), 0750), 0);
    ASSERT_EQ(mkdir(dst_.c_str(), 0700), 0);
  }
  struct stat Lstat(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
    return st;
  }

  std::optional<ScopedTempDir> dir_;
  std::string src_, dst_;
};

TEST_F(CopyDirTest, PreservesTypesModesTimesAndLinks) {
  ASSERT_TRUE(WriteFileAtomic(src_ + "/file", "content", 0640).ok());
  ASSERT_EQ(chmod((src_ + "/file").c_str(), 02755), 0);
  ASSERT_EQ(link((src_ + "/file").c_str(), (src_ + "/hardlink").c_str()), 0);
  ASSERT_EQ(mkdir((src_ + "/sub").c_str(), 01777), 0);
  ASSERT_EQ(chmod((src_ + "/sub").c_str(), 01777), 0);
  ASSERT_EQ(symlink("../file", (src_ + "/sub/link").c_str()), 0);
  ASSERT_EQ(mkfifo((src_ + "/sub/fifo").c_str(), 0600), 0);
  struct timespec times[2] = {{1000000000, 123456789}, {1100000000, 987654321}};
  ASSERT_EQ(utimensat(AT_FDCWD, (src_ + "/file").c_str(), times, 0), 0);
  ASSERT_EQ(utimensat(AT_FDCWD, (src_ + "/sub").c_str(), times, 0), 0);
  ASSERT_EQ(utimensat(AT_FDCWD, (src_ + "/sub/link").c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  bool xattrs = setxattr((src_ + "/file").c_str(), "user.berth", "v", 1, 0) == 0;

  ASSERT_TRUE(CopyDir(src_, dst_).ok());

  struct stat file = Lstat(dst_ + "/file");  // before reading it moves atime (relatime)
  EXPECT_EQ(file.st_mode & 07777, 02755u);
  EXPECT_EQ(file.st_mtim.tv_sec, 1100000000);
  EXPECT_EQ(file.st_mtim.tv_nsec, 987654321);
  EXPECT_EQ(file.st_atim.tv_sec, 1000000000);
  EXPECT_EQ(Lstat(dst_ + "/hardlink").st_ino, file.st_ino) << "hard links stay links";
  EXPECT_NE(file.st_ino, Lstat(src_ + "/file").st_ino);
  EXPECT_EQ(ReadFile(dst_ + "/file").value_or(""), "content");
  struct stat sub = Lstat(dst_ + "/sub");
  EXPECT_EQ(sub.st_mode & 07777, 01777u);
  EXPECT_EQ(sub.st_mtim.tv_sec, 1100000000) << "directory times set after its contents";
  EXPECT_EQ(Lstat(dst_).st_mode & 07777, 0750u) << "the root takes the source's mode";
  char target[64] = {};
  ASSERT_GT(readlink((dst_ + "/sub/link").c_str(), target, sizeof(target)), 0);
  EXPECT_STREQ(target, "../file");
  EXPECT_EQ(Lstat(dst_ + "/sub/link").st_mtim.tv_sec, 1100000000);
  EXPECT_TRUE(S_ISFIFO(Lstat(dst_ + "/sub/fifo").st_mode));
  if (xattrs) {
    char value[8] = {};
    EXPECT_EQ(getxattr((dst_ + "/file").c_str(), "user.berth", value, sizeof(value)), 1);
    EXPECT_STREQ(value, "v");
  }
}

TEST_F(CopyDirTest, OwnersAndDevicesNeedRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(WriteFileAtomic(src_ + "/owned", "x").ok());
  ASSERT_EQ(lchown((src_ + "/owned").c_str(), 1000, 2000), 0);
  ASSERT_EQ(symlink("owned", (src_ + "/link").c_str()), 0);
  ASSERT_EQ(lchown((src_ + "/link").c_str(), 3000, 4000), 0);
  ASSERT_EQ(mknod((src_ + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(setxattr((src_ + "/owned").c_str(), "trusted.berth", "t", 1, 0), 0);

  ASSERT_TRUE(CopyDir(src_, dst_).ok());
  struct stat owned = Lstat(dst_ + "/owned");
  EXPECT_EQ(owned.st_uid, 1000u);
  EXPECT_EQ(owned.st_gid, 2000u);
  struct stat link = Lstat(dst_ + "/link");
  EXPECT_EQ(link.st_uid, 3000u);
  struct stat dev = Lstat(dst_ + "/null");
  EXPECT_TRUE(S_ISCHR(dev.st_mode));
  EXPECT_EQ(dev.st_rdev, makedev(1, 3));
  char value[8] = {};
  EXPECT_EQ(getxattr((dst_ + "/owned").c_str(), "trusted.berth", value, sizeof(value)), 1);
}

TEST_F(CopyDirTest, SourceMustBeADirectory) {
  ASSERT_TRUE(WriteFileAtomic(src_ + "/file", "x").ok());
  EXPECT_FALSE(CopyDir(src_ + "/file", dst_).ok());
  EXPECT_TRUE(absl::IsNotFound(CopyDir(src_ + "/missing", dst_)));
}

}  // namespace
}  // namespace berth::snapshotter::native
