// Debian's ctr (containerd 1.6) against berthd with containerd-shim-runc-v2: `ctr run --rootfs`
// (no image needed), detached containers and the `ctr t` commands.

#include <signal.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/tasks/task_env.h"
#include "tests/testutil/process.h"
#include "tests/testutil/test_daemon.h"

namespace berth::tasks_test {
namespace {

class CtrTasksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = MissingPrerequisite(); !why.empty()) GTEST_SKIP() << why;
    auto daemon = testutil::TestDaemon::Start();
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
    auto rootfs = BusyboxRootfs::Create();
    ASSERT_TRUE(rootfs.ok()) << rootfs.status();
    rootfs_ = *std::move(rootfs);
    ns_ = UniqueNamespace("ctr-tasks");
    fifo_dir_ = absl::StrCat(daemon_->dir(), "/fifo");
    client_ = std::make_unique<TaskClient>(daemon_->NewChannel(), ns_);
  }

  void TearDown() override {
    if (client_ != nullptr) client_->CleanupAll();
    if (daemon_ != nullptr) {
      (void)daemon_->Stop();
      KillShimsOf(daemon_->address());
    }
  }

  testutil::CommandResult Ctr(std::vector<std::string> args) {
    return testutil::RunCtr(daemon_->address(), ns_, args);
  }

  // The STATUS column of `ctr t ls` for `id` ("" if absent), and its PID.
  std::pair<std::string, std::string> TaskRow(const std::string& id) {
    testutil::CommandResult ls = Ctr({"t", "ls"});
    for (absl::string_view line : absl::StrSplit(ls.out, '\n', absl::SkipWhitespace())) {
      std::vector<std::string> cells =
          absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipWhitespace());
      if (cells.size() == 3 && cells[0] == id) return {cells[2], cells[1]};
    }
    return {"", ""};
  }

  std::unique_ptr<testutil::TestDaemon> daemon_;
  std::unique_ptr<BusyboxRootfs> rootfs_;
  std::unique_ptr<TaskClient> client_;
  std::string ns_, fifo_dir_;
};

TEST_F(CtrTasksTest, RunRmEchoHiAndExitCodes) {
  testutil::CommandResult hi = Ctr({"run", "--rm", "--fifo-dir", fifo_dir_, "--rootfs",
                                    rootfs_->path(), "hi", "/bin/echo", "hi"});
  EXPECT_EQ(hi.exit_code, 0) << hi.Describe() << daemon_->ReadLog();
  EXPECT_EQ(hi.out, "hi\n");
  testutil::CommandResult five = Ctr({"run", "--rm", "--fifo-dir", fifo_dir_, "--rootfs",
                                      rootfs_->path(), "five", "/bin/sh", "-c", "exit 5"});
  EXPECT_EQ(five.exit_code, 5) << five.Describe();
  // --rm removed both containers.
  EXPECT_EQ(Ctr({"c", "ls", "-q"}).out, "");
}

TEST_F(CtrTasksTest, DetachedTaskLsExecPsPauseKillRm) {
  testutil::CommandResult run = Ctr({"run", "-d", "--fifo-dir", fifo_dir_, "--rootfs",
                                     rootfs_->path(), "bg", "/bin/sleep", "1000"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe() << daemon_->ReadLog();
  auto [status, pid] = TaskRow("bg");
  EXPECT_EQ(status, "RUNNING");
  testutil::CommandResult exec = Ctr({"t", "exec", "--fifo-dir", fifo_dir_, "--exec-id", "e1",
                                      "bg", "/bin/echo", "x"});
  EXPECT_EQ(exec.exit_code, 0) << exec.Describe();
  EXPECT_EQ(exec.out, "x\n");
  testutil::CommandResult ps = Ctr({"t", "ps", "bg"});
  EXPECT_EQ(ps.exit_code, 0) << ps.Describe();
  EXPECT_NE(ps.out.find(pid), std::string::npos) << ps.out;
  EXPECT_EQ(Ctr({"t", "pause", "bg"}).exit_code, 0);
  EXPECT_EQ(TaskRow("bg").first, "PAUSED");
  EXPECT_EQ(Ctr({"t", "resume", "bg"}).exit_code, 0);
  EXPECT_EQ(TaskRow("bg").first, "RUNNING");
  testutil::CommandResult metrics = Ctr({"t", "metrics", "bg"});
  EXPECT_EQ(metrics.exit_code, 0) << metrics.Describe();
  EXPECT_EQ(Ctr({"t", "kill", "-s", "SIGKILL", "bg"}).exit_code, 0);
  for (int i = 0; i < 100 && TaskRow("bg").first != "STOPPED"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(TaskRow("bg").first, "STOPPED");
  testutil::CommandResult rm = Ctr({"t", "rm", "bg"});
  EXPECT_EQ(rm.exit_code, 0) << rm.Describe();
  EXPECT_EQ(TaskRow("bg").first, "");
  testutil::CommandResult crm = Ctr({"c", "rm", "bg"});
  EXPECT_EQ(crm.exit_code, 0) << crm.Describe();
}

}  // namespace
}  // namespace berth::tasks_test
