#include "snapshotter/mount_util.h"

#include <sys/mount.h>

#include "gtest/gtest.h"

namespace berth::snapshotter {
namespace {

TEST(ParseMountOptionsTest, FlagsPropagationAndData) {
  std::vector<std::string> options = {"ro",        "rbind",          "nosuid", "rprivate",
                                      "index=off", "lowerdir=/a:/b", "nodev",  "userxattr"};
  ParsedMountOptions p = ParseMountOptions(options);
  EXPECT_EQ(p.flags, MS_RDONLY | MS_BIND | MS_REC | MS_NOSUID | MS_NODEV);
  EXPECT_EQ(p.propagation, MS_PRIVATE | MS_REC);
  EXPECT_EQ(p.data, "index=off,lowerdir=/a:/b,userxattr");
}

TEST(ParseMountOptionsTest, LaterOptionsWin) {
  std::vector<std::string> options = {"ro", "rw", "noexec", "exec", "suid"};
  EXPECT_EQ(ParseMountOptions(options).flags, 0u);
  options = {"rw", "ro"};
  EXPECT_EQ(ParseMountOptions(options).flags, static_cast<unsigned long>(MS_RDONLY));
}

TEST(ParseMountOptionsTest, Empty) {
  ParsedMountOptions p = ParseMountOptions({});
  EXPECT_EQ(p.flags, 0u);
  EXPECT_EQ(p.propagation, 0u);
  EXPECT_EQ(p.data, "");
}

TEST(UnmountAllTest, NotMountedIsOk) { EXPECT_TRUE(UnmountAll("/nonexistent/berth/path").ok()); }

}  // namespace
}  // namespace berth::snapshotter
