// Debian's ctr (containerd 1.6) against berthd: `ctr snapshots prepare/view/commit/ls/tree/
// info/usage/mounts/rm` on the default overlayfs snapshotter and on native.

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/process.h"
#include "tests/testutil/test_daemon.h"

namespace berth::testutil {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class CtrSnapshotsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (access("/usr/bin/ctr", X_OK) != 0) GTEST_SKIP() << "ctr is not installed";
    auto daemon = TestDaemon::Start();
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = std::move(*daemon);
  }

  CommandResult Ctr(std::vector<std::string> args) {
    std::vector<std::string> argv = {"ctr", "-a", daemon_->address(), "-n", "default",
                                     "snapshots", "--snapshotter", GetParam()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = RunCommand(argv);
    EXPECT_TRUE(result.ok());
    return result.ok() ? *result : CommandResult{};
  }

  std::unique_ptr<TestDaemon> daemon_;
};

TEST_P(CtrSnapshotsTest, PrepareCommitListInfoMountsRemove) {
  CommandResult r = Ctr({"prepare", "k1"});
  ASSERT_TRUE(r.ok()) << r.Describe();
  r = Ctr({"mounts", "/mnt/target", "k1"});
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_THAT(r.out, HasSubstr("mount -t bind"));
  EXPECT_THAT(r.out, HasSubstr("/mnt/target"));
  ASSERT_TRUE(Ctr({"commit", "c1", "k1"}).ok());
  ASSERT_TRUE(Ctr({"prepare", "k2", "c1"}).ok());
  ASSERT_TRUE(Ctr({"view", "v1", "c1"}).ok());

  r = Ctr({"ls"});
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_THAT(r.out, HasSubstr("KEY"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("c1 +Committed"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("k2 +c1 +Active"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("v1 +c1 +View"));

  r = Ctr({"tree"});
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_THAT(r.out, HasSubstr("c1"));
  EXPECT_THAT(r.out, HasSubstr("\\_ k2"));

  r = Ctr({"info", "k2"});
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_THAT(r.out, HasSubstr("\"Kind\": \"Active\""));
  EXPECT_THAT(r.out, HasSubstr("\"Parent\": \"c1\""));
  EXPECT_THAT(r.out, HasSubstr("containerd.io/gc.root"));

  r = Ctr({"usage"});
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_THAT(r.out, HasSubstr("c1"));
  r = Ctr({"usage", "k2"});
  ASSERT_TRUE(r.ok()) << r.Describe();

  r = Ctr({"label", "k2", "berth=yes"});
  ASSERT_TRUE(r.ok()) << r.Describe();
  r = Ctr({"info", "k2"});
  EXPECT_THAT(r.out, HasSubstr("\"berth\": \"yes\""));

  r = Ctr({"rm", "c1"});
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.err, HasSubstr("cannot remove snapshot with child"));
  ASSERT_TRUE(Ctr({"rm", "k2", "v1"}).ok());
  ASSERT_TRUE(Ctr({"rm", "c1"}).ok());
  r = Ctr({"ls"});
  EXPECT_THAT(r.out, Not(HasSubstr("c1")));
  r = Ctr({"info", "c1"});
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.err, HasSubstr("not found"));
}

INSTANTIATE_TEST_SUITE_P(Snapshotters, CtrSnapshotsTest,
                         ::testing::Values("overlayfs", "native"));

}  // namespace
}  // namespace berth::testutil
