// Privileged: removing a container's cgroup waits for its last process to exit
// (cgroups::RemoveDir), and gives up at once without `wait`.

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "runtime/oci/linux/cgroups_internal.h"

namespace berth::oci::cgroups {
namespace {

// A hierarchy this test may make a child cgroup in: v1's pids, else the unified one.
std::string Hierarchy() {
  for (const char* dir : {"/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
    struct stat st;
    std::string procs = absl::StrCat(dir, "/cgroup.procs");
    if (stat(procs.c_str(), &st) == 0) return dir;
  }
  return "";
}

class CgroupRemoveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    std::string hierarchy = Hierarchy();
    if (hierarchy.empty()) GTEST_SKIP() << "no cgroup hierarchy mounted";
    dir_ = absl::StrCat(hierarchy, "/berth-rmdir-test-", getpid());
    ASSERT_EQ(mkdir(dir_.c_str(), 0755), 0) << dir_;
  }
  void TearDown() override {
    if (child_ > 0) {
      kill(child_, SIGKILL);
      waitpid(child_, nullptr, 0);
    }
    if (!dir_.empty()) rmdir(dir_.c_str());
  }

  // A child that joins the cgroup and exits after `ms`; returns once it has joined.
  void StartChildInCgroup(int ms) {
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    child_ = fork();
    ASSERT_GE(child_, 0);
    if (child_ == 0) {
      close(ready[0]);
      bool joined = WriteFile(dir_, "cgroup.procs", "0").ok();
      (void)!write(ready[1], joined ? "y" : "n", 1);
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      _exit(0);
    }
    close(ready[1]);
    char joined = 0;
    ASSERT_EQ(read(ready[0], &joined, 1), 1);
    close(ready[0]);
    ASSERT_EQ(joined, 'y');
  }

  std::string dir_;
  pid_t child_ = -1;
};

TEST_F(CgroupRemoveTest, WaitsForTheLastProcessToExit) {
  StartChildInCgroup(400);
  // The child's parent reaps it as soon as it exits, as a shim would.
  pid_t child = child_;
  std::thread reaper([child] { waitpid(child, nullptr, 0); });
  auto start = std::chrono::steady_clock::now();
  absl::Status status = RemoveDir(dir_);
  auto waited = std::chrono::steady_clock::now() - start;
  reaper.join();
  child_ = -1;
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_GE(waited, std::chrono::milliseconds(300));
  struct stat st;
  EXPECT_NE(stat(dir_.c_str(), &st), 0);
}

TEST_F(CgroupRemoveTest, WithoutWaitGivesUpAtOnce) {
  StartChildInCgroup(5000);
  auto start = std::chrono::steady_clock::now();
  absl::Status status = RemoveDir(dir_, /*wait=*/false);
  EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
}

}  // namespace
}  // namespace berth::oci::cgroups
