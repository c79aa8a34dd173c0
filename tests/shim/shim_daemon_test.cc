// berthd's own life around berth-shim containers, driven by Debian's ctr: SIGTERM stops the
// daemon promptly after containers ran (with an idle client still connected and a container
// still running), and a SIGKILLed daemon restarted with 20 containers running finds them all
// again: same pids, exec works, and the exit that happened while it was down is reported.

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/shim/shim_fixture.h"
#include "tests/tasks/task_env.h"
#include "tests/testutil/grpc_client.h"
#include "tests/testutil/process.h"
#include "tests/testutil/test_daemon.h"

namespace berth::shim_test {
namespace {

using tasks_test::BusyboxRootfs;
using tasks_test::TaskClient;
using testutil::StatusText;

constexpr int kCrashContainers = 20;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class ShimDaemonTest : public ShimFixture {
 protected:
  void SetUp() override { StartShimDaemon("shim-daemon"); }

  testutil::CommandResult Run(const std::string& runtime, std::vector<std::string> flags,
                              const std::string& id, std::vector<std::string> args) {
    return RunWith(runtime, std::move(flags), id, std::move(args));
  }

  // `ctr t ls`: id -> {pid, status}.
  std::map<std::string, std::pair<std::string, std::string>> TaskRows() {
    std::map<std::string, std::pair<std::string, std::string>> rows;
    testutil::CommandResult ls = Ctr({"t", "ls"});
    for (absl::string_view line : absl::StrSplit(ls.out, '\n', absl::SkipWhitespace())) {
      std::vector<std::string> cells =
          absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipWhitespace());
      if (cells.size() == 3 && cells[0] != "TASK") rows[cells[0]] = {cells[1], cells[2]};
    }
    return rows;
  }

};

// gRPC's graceful shutdown waited for every connected client to answer its GOAWAY ping; this
// test's idle channel answers only every 5 s, which held SIGTERM for 4-10 s.
TEST_F(ShimDaemonTest, SigtermAfterContainersStopsPromptly) {
  testutil::CommandResult ran = Run(kBerthRuntime, {"--rm"}, "once", {"/bin/true"});
  EXPECT_EQ(ran.exit_code, 0) << ran.Describe() << daemon_->ReadLog();
  if (access("/usr/bin/containerd-shim-runc-v2", X_OK) == 0) {
    ran = Run("io.containerd.runc.v2", {"--rm"}, "runc-once", {"/bin/true"});
    EXPECT_EQ(ran.exit_code, 0) << ran.Describe();
  }
  ran = Run(kBerthRuntime, {"-d"}, "stays", {"/bin/sleep", "1000"});
  ASSERT_EQ(ran.exit_code, 0) << ran.Describe();
  tasks_test::tasks_api::GetResponse got;  // The test's own channel: used, then idle.
  ASSERT_TRUE(client_->Get("stays", &got).ok());

  auto start = std::chrono::steady_clock::now();
  absl::Status stopped = daemon_->Stop();
  double seconds = SecondsSince(start);
  ASSERT_TRUE(stopped.ok()) << stopped;
  EXPECT_LT(seconds, 3.0) << "SIGTERM to exit took " << seconds << " s";
  // The container outlives the daemon and is found again.
  EXPECT_EQ(ShimPids(daemon_->address(), "stays").size(), 1u);
  ASSERT_TRUE(daemon_->StartProcess().ok()) << daemon_->ReadLog();
  client_ = std::make_unique<TaskClient>(daemon_->NewChannel(), ns_);
  EXPECT_EQ(TaskRows()["stays"].second, "RUNNING");
}

TEST_F(ShimDaemonTest, TwentyContainersSurviveDaemonSigkill) {
  for (int i = 0; i < kCrashContainers; ++i) {
    testutil::CommandResult ran =
        Run(kBerthRuntime, {"-d"}, absl::StrCat("c", i), {"/bin/sleep", "1000"});
    ASSERT_EQ(ran.exit_code, 0) << ran.Describe() << daemon_->ReadLog();
  }
  auto before = TaskRows();
  ASSERT_EQ(before.size(), static_cast<size_t>(kCrashContainers));
  for (const auto& [id, row] : before) ASSERT_EQ(row.second, "RUNNING") << id;
  std::vector<int> shims = ShimPids(daemon_->address());
  ASSERT_EQ(shims.size(), static_cast<size_t>(kCrashContainers));

  ASSERT_TRUE(daemon_->Kill(SIGKILL).ok());
  // While berthd is down, c0's sleep is killed; its shim reaps it and keeps the exit.
  pid_t gone = std::stoi(before["c0"].first);
  ASSERT_EQ(kill(gone, SIGKILL), 0);
  for (int i = 0; i < 100 && kill(gone, 0) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_NE(kill(gone, 0), 0) << "the shim did not reap " << gone;

  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(daemon_->StartProcess().ok()) << daemon_->ReadLog();
  double restart = SecondsSince(start);
  std::string log = daemon_->ReadLog();
  size_t restored = log.rfind("restored ");
  ASSERT_NE(restored, std::string::npos) << log;
  std::string line = log.substr(restored, log.find('\n', restored) - restored);
  EXPECT_TRUE(absl::StartsWith(line, absl::StrCat("restored ", kCrashContainers, " of ",
                                                  kCrashContainers, " tasks")))
      << line;
  RecordProperty("restart_seconds", absl::StrCat(restart));
  std::cout << "[ restart  ] serving again after " << restart << " s (" << line << ")\n";
  // Reconnection is parallel with 2 s timeouts: 20 live shims take far less than 20 x 2 s.
  EXPECT_LT(restart, 10.0);
  client_ = std::make_unique<TaskClient>(daemon_->NewChannel(), ns_);

  EXPECT_EQ(ShimPids(daemon_->address()), shims);
  auto after = TaskRows();
  ASSERT_EQ(after.size(), static_cast<size_t>(kCrashContainers));
  for (const auto& [id, row] : before) {
    EXPECT_EQ(after[id].first, row.first) << id;
    EXPECT_EQ(after[id].second, id == "c0" ? "STOPPED" : "RUNNING") << id;
  }
  testutil::CommandResult exec = Ctr({"t", "exec", "--fifo-dir", fifo_dir_, "--exec-id", "e1",
                                      "c7", "/bin/sh", "-c", "echo still here; exit 5"});
  EXPECT_EQ(exec.exit_code, 5) << exec.Describe();
  EXPECT_EQ(exec.out, "still here\n");
  // The exit that happened while berthd was down: Wait and `ctr t rm` (a warning) report 137.
  tasks_test::tasks_api::WaitResponse waited;
  grpc::Status status = client_->Wait("c0", &waited, "", 5);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(waited.exit_status(), 128u + SIGKILL);
  testutil::CommandResult rm = Ctr({"t", "rm", "c0"});
  EXPECT_EQ(rm.exit_code, 0) << rm.Describe();
  EXPECT_TRUE(absl::StrContains(rm.err, "exit code 137")) << rm.Describe();
  EXPECT_EQ(TaskRows().count("c0"), 0u);
}

}  // namespace
}  // namespace berth::shim_test
