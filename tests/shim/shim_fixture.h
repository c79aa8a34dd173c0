#pragma once

// The fixture the berth-shim tests share: a private berthd with the built shim on PATH, a
// busybox rootfs, a namespace of its own, a Tasks client, and `ctr` against the daemon. On
// teardown every task is cleaned up, the daemon stopped, no shim may outlive it, and the
// namespace's cgroups are removed.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/shim/shim_env.h"
#include "tests/tasks/task_env.h"
#include "tests/testutil/process.h"
#include "tests/testutil/test_daemon.h"

namespace berth::shim_test {

class ShimFixture : public ::testing::Test {
 protected:
  // Call from SetUp; skips the test when a prerequisite is missing.
  void StartShimDaemon(const std::string& ns_prefix) {
    if (std::string why = MissingPrerequisite(); !why.empty()) GTEST_SKIP() << why;
    PutShimOnPath();
    auto daemon = testutil::TestDaemon::Start();
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
    auto rootfs = tasks_test::BusyboxRootfs::Create();
    ASSERT_TRUE(rootfs.ok()) << rootfs.status();
    rootfs_ = *std::move(rootfs);
    ns_ = tasks_test::UniqueNamespace(ns_prefix);
    fifo_dir_ = absl::StrCat(daemon_->dir(), "/fifo");
    client_ = std::make_unique<tasks_test::TaskClient>(daemon_->NewChannel(), ns_);
  }

  // A test that stopped or killed the daemon gets it back first: it cleans up the tasks.
  void TearDown() override {
    if (daemon_ != nullptr && !daemon_->Running()) (void)daemon_->StartProcess();
    if (client_ != nullptr) client_->CleanupAll();
    if (daemon_ != nullptr) {
      (void)daemon_->Stop();
      EXPECT_EQ(KillShims(daemon_->address()), 0) << "shims outlived their tasks";
      EXPECT_EQ(ShimPids(daemon_->address(), "", /*spares=*/true), std::vector<int>{})
          << "a spare shim outlived the daemon";
    }
    if (!ns_.empty()) tasks_test::RemoveNamespaceCgroups(ns_);
  }

  testutil::CommandResult Ctr(std::vector<std::string> args) {
    return testutil::RunCtr(daemon_->address(), ns_, args);
  }

  // `ctr run` with `runtime` and the test's rootfs (--rootfs takes the image's place).
  testutil::CommandResult RunWith(const std::string& runtime, std::vector<std::string> flags,
                                  const std::string& id, std::vector<std::string> args) {
    std::vector<std::string> argv = {"run", "--runtime", runtime, "--fifo-dir", fifo_dir_};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"--rootfs", rootfs_->path(), id});
    argv.insert(argv.end(), args.begin(), args.end());
    return Ctr(argv);
  }

  std::unique_ptr<testutil::TestDaemon> daemon_;
  std::unique_ptr<tasks_test::BusyboxRootfs> rootfs_;
  std::unique_ptr<tasks_test::TaskClient> client_;
  std::string ns_, fifo_dir_;
};

}  // namespace berth::shim_test
