// Cross-check: Debian's containerd 1.6 (temp root, state and socket) runs containers with
// berth-shim found on PATH as containerd-shim-berth-v1: the shim v2 start protocol, ttrpc task
// service and event forwarding as containerd itself expects them.

#include <signal.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "plugins/base/file_util.h"
#include "tests/shim/shim_env.h"
#include "tests/tasks/task_env.h"
#include "tests/testutil/process.h"
#include "tests/testutil/test_daemon.h"

namespace berth::shim_test {
namespace {

class ShimContainerdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = MissingPrerequisite(); !why.empty()) GTEST_SKIP() << why;
    if (access("/usr/bin/containerd", X_OK) != 0) GTEST_SKIP() << "containerd is not installed";
    PutShimOnPath();
    char tmpl[] = "/tmp/berth-ctrd-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    socket_ = dir_ + "/containerd.sock";
    const std::string config = testutil::TempContainerdConfig(dir_, socket_);
    ASSERT_TRUE(WriteFileAtomic(dir_ + "/config.toml", config).ok());
    auto containerd = testutil::BackgroundProcess::Start(
        {"/usr/bin/containerd", "--config", dir_ + "/config.toml"});
    ASSERT_TRUE(containerd.ok()) << containerd.status();
    containerd_ = *std::move(containerd);
    bool up = false;
    for (int i = 0; i < 100 && !up; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      up = Ctr({"version"}).exit_code == 0;
    }
    ASSERT_TRUE(up) << containerd_->Stderr();
    auto rootfs = tasks_test::BusyboxRootfs::Create();
    ASSERT_TRUE(rootfs.ok()) << rootfs.status();
    rootfs_ = *std::move(rootfs);
  }

  void TearDown() override {
    if (containerd_ != nullptr) {
      Ctr({"t", "rm", "-f", "bg"});
      Ctr({"c", "rm", "bg"});
      containerd_->Kill(SIGTERM);
      EXPECT_EQ(KillShims(socket_), 0) << "shims outlived their tasks";
    }
    rootfs_.reset();
    if (!dir_.empty()) testutil::RemoveTree(dir_);
    tasks_test::RemoveNamespaceCgroups("shim-ctrd");
  }

  testutil::CommandResult Ctr(std::vector<std::string> args) {
    return testutil::RunCtr(socket_, "shim-ctrd", args);
  }

  std::string dir_, socket_;
  std::unique_ptr<testutil::BackgroundProcess> containerd_;
  std::unique_ptr<tasks_test::BusyboxRootfs> rootfs_;
};

TEST_F(ShimContainerdTest, ContainerdRunsContainersWithBerthShim) {
  auto with = [&](std::vector<std::string> tail) {
    std::vector<std::string> args = {"run", "--runtime", kBerthRuntime, "--fifo-dir",
                                     dir_ + "/fifo", tail[0], "--rootfs", rootfs_->path()};
    args.insert(args.end(), tail.begin() + 1, tail.end());
    return Ctr(args);
  };
  testutil::CommandResult hi = with({"--rm", "hi", "/bin/echo", "hi"});
  EXPECT_EQ(hi.exit_code, 0) << hi.Describe() << containerd_->Stderr();
  EXPECT_EQ(hi.out, "hi\n");
  EXPECT_EQ(with({"--rm", "three", "/bin/sh", "-c", "exit 3"}).exit_code, 3);

  ASSERT_EQ(with({"-d", "bg", "/bin/sleep", "1000"}).exit_code, 0) << containerd_->Stderr();
  EXPECT_TRUE(absl::StrContains(Ctr({"t", "ls"}).out, "RUNNING"));
  testutil::CommandResult exec = Ctr({"t", "exec", "--fifo-dir", dir_ + "/fifo", "--exec-id",
                                      "e1", "bg", "/bin/echo", "exec"});
  EXPECT_EQ(exec.exit_code, 0) << exec.Describe();
  EXPECT_EQ(exec.out, "exec\n");
  EXPECT_EQ(Ctr({"t", "pause", "bg"}).exit_code, 0);
  EXPECT_TRUE(absl::StrContains(Ctr({"t", "ls"}).out, "PAUSED"));
  EXPECT_EQ(Ctr({"t", "resume", "bg"}).exit_code, 0);
  EXPECT_EQ(Ctr({"t", "metrics", "bg"}).exit_code, 0);
  EXPECT_EQ(Ctr({"t", "kill", "-s", "SIGKILL", "bg"}).exit_code, 0);
  bool stopped = false;
  for (int i = 0; i < 100 && !stopped; ++i) {
    stopped = absl::StrContains(Ctr({"t", "ls"}).out, "STOPPED");
    if (!stopped) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(stopped);
  EXPECT_EQ(Ctr({"t", "rm", "bg"}).exit_code, 0);
  EXPECT_EQ(Ctr({"c", "rm", "bg"}).exit_code, 0);
  for (int i = 0; i < 50 && !ShimPids(socket_).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(ShimPids(socket_).empty());
}

}  // namespace
}  // namespace berth::shim_test
