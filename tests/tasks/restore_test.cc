// berthd SIGKILLed with containers running: after a restart every task is back with the same
// pid, exec works, an exit that happened while the daemon was down is reported, and a shim
// that died meanwhile is cleaned up.

#include <signal.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/tasks/task_env.h"
#include "tests/testutil/grpc_client.h"
#include "tests/testutil/test_daemon.h"

namespace berth::tasks_test {
namespace {

using testutil::StatusText;

constexpr int kContainers = 6;

TEST(RestoreTest, SigkilledDaemonReconnectsToEveryShim) {
  if (std::string why = MissingPrerequisite(); !why.empty()) GTEST_SKIP() << why;
  auto daemon = testutil::TestDaemon::Start();
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  auto rootfs = BusyboxRootfs::Create();
  ASSERT_TRUE(rootfs.ok());
  std::string ns = UniqueNamespace("restore");
  auto client = std::make_unique<TaskClient>((*daemon)->NewChannel(), ns);
  std::vector<uint32_t> pids(kContainers);
  for (int i = 0; i < kContainers; ++i) {
    std::string id = absl::StrCat("c", i);
    auto spec = SpecJson(ns, id, {"sleep", "1000"});
    ASSERT_TRUE(spec.ok());
    ASSERT_TRUE(client->CreateContainer(id, *spec).ok());
    grpc::Status status = client->CreateTask(id, (*rootfs)->path(), "", &pids[i]);
    ASSERT_TRUE(status.ok()) << StatusText(status);
    ASSERT_TRUE(client->Start(id).ok());
  }

  ASSERT_TRUE((*daemon)->Kill(SIGKILL).ok());
  // While the daemon is down: c0's process exits (its shim stays), c1's shim dies.
  ASSERT_EQ(kill(static_cast<pid_t>(pids[0]), SIGKILL), 0);
  ASSERT_EQ(KillShimOf((*daemon)->address(), "c1"), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE((*daemon)->StartProcess().ok()) << (*daemon)->ReadLog();
  client = std::make_unique<TaskClient>((*daemon)->NewChannel(), ns);

  tasks_api::GetResponse got;
  ASSERT_TRUE(client->Get("c0", &got).ok());
  EXPECT_EQ(got.process().status(), containerd::v1::types::STOPPED);
  EXPECT_EQ(got.process().exit_status(), 128u + SIGKILL);
  tasks_api::WaitResponse waited;
  ASSERT_TRUE(client->Wait("c0", &waited, "", 5).ok());
  EXPECT_EQ(waited.exit_status(), 128u + SIGKILL);
  // The dead shim was cleaned up: no task, no bundle.
  EXPECT_EQ(client->Get("c1", &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(access(absl::StrCat((*daemon)->state(), "/io.containerd.runtime.v2.task/", ns, "/c1")
                       .c_str(),
                   F_OK),
            0);
  for (int i = 2; i < kContainers; ++i) {
    std::string id = absl::StrCat("c", i);
    ASSERT_TRUE(client->Get(id, &got).ok()) << id;
    EXPECT_EQ(got.process().status(), containerd::v1::types::RUNNING) << id;
    EXPECT_EQ(got.process().pid(), pids[i]) << id;
  }
  auto out = FifoReader::Create(absl::StrCat((*daemon)->dir(), "/exec-stdout"));
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(client->Exec("c2", "e1", {"echo", "still here"}, (*out)->path()).ok());
  ASSERT_TRUE(client->Start("c2", "e1").ok());
  EXPECT_EQ((*out)->ReadAll(), "still here\n");

  client->CleanupAll();
  (void)(*daemon)->Stop();
  EXPECT_EQ(KillShimsOf((*daemon)->address()), 0);
}

}  // namespace
}  // namespace berth::tasks_test
