// A detached container through its whole life: run -d, ps, exec, top, stats, inspect, stop
// (SIGTERM, and SIGKILL after -t for one that ignores it), start again, wait, kill, attach,
// rm and rm -f.

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "tests/ctl_tasks/ctl_fixture.h"

namespace berth::ctl_test {
namespace {

using Clock = std::chrono::steady_clock;

TEST_F(CtlTasksTest, DetachedContainerLifecycle) {
  CommandResult run = Ctl({"run", "-d", "--name", "x", "busybox", "sleep", "1000"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe() << daemon_->ReadLog();
  EXPECT_EQ(run.out, "x\n");
  CommandResult ps = Ctl({"ps"});
  EXPECT_NE(ps.out.find("CONTAINER ID"), std::string::npos) << ps.out;
  EXPECT_NE(ps.out.find("\"sleep 1000\""), std::string::npos) << ps.out;
  EXPECT_NE(ps.out.find("Up "), std::string::npos) << ps.out;

  CommandResult exec = Ctl({"exec", "x", "sh", "-c", "echo $$"});
  EXPECT_EQ(exec.exit_code, 0) << exec.Describe();
  int pid = 0;
  EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(exec.out), &pid)) << exec.out;
  EXPECT_GT(pid, 1);
  EXPECT_EQ(Ctl({"exec", "x", "sh", "-c", "exit 9"}).exit_code, 9);

  CommandResult top = Ctl({"top", "x"});
  EXPECT_EQ(top.exit_code, 0) << top.Describe();
  EXPECT_NE(top.out.find("sleep 1000"), std::string::npos) << top.out;
  CommandResult stats = Ctl({"stats", "--no-stream", "x"});
  EXPECT_EQ(stats.exit_code, 0) << stats.Describe();
  EXPECT_NE(stats.out.find("MEM USAGE"), std::string::npos) << stats.out;
  // The figures come from the task's metrics (cgroup stats, decoded from the wire format):
  // one process (sleep), and some memory charged to it.
  std::vector<std::string> lines = absl::StrSplit(stats.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << stats.out;
  std::vector<std::string> row = absl::StrSplit(lines[1], ' ', absl::SkipEmpty());
  ASSERT_GE(row.size(), 8u) << lines[1];
  EXPECT_EQ(row.back(), "1") << lines[1];
  EXPECT_NE(row[3], "0B") << lines[1];

  CommandResult inspect = Ctl({"inspect", "x"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.Describe();
  nlohmann::json info = nlohmann::json::parse(inspect.out, nullptr, false);
  ASSERT_TRUE(info.is_array() && info.size() == 1) << inspect.out;
  EXPECT_EQ(info[0]["Id"], "x");
  EXPECT_EQ(info[0]["State"]["Running"], true);
  EXPECT_GT(info[0]["State"]["Pid"].get<int>(), 0);
  EXPECT_EQ(info[0]["Config"]["Cmd"], nlohmann::json({"sleep", "1000"}));
  CommandResult ps_json = Ctl({"--format", "json", "ps"});
  EXPECT_EQ(nlohmann::json::parse(ps_json.out, nullptr, false).size(), 1u) << ps_json.out;
  // A detached task keeps its FIFOs (stdout, stderr: no -i) for attach, and its etc files.
  EXPECT_EQ(EntriesUnder("/run/berth/fifo"), 2u);
  EXPECT_EQ(EntriesUnder("/run/berth/ctl"), 1u);

  // sleep is PID 1 of its namespace: without a handler, SIGTERM does not reach it, so stop
  // SIGKILLs it after the grace period (as docker stop does).
  auto before = Clock::now();
  CommandResult stop = Ctl({"stop", "-t", "1", "x"});
  EXPECT_EQ(stop.exit_code, 0) << stop.Describe();
  EXPECT_LT(Clock::now() - before, std::chrono::seconds(8));
  EXPECT_EQ(Ctl({"wait", "x"}).out, "137\n");
  EXPECT_NE(Ctl({"ps", "-a"}).out.find("Exited (137)"), std::string::npos);
  EXPECT_EQ(Ctl({"ps", "-q"}).out, "");

  CommandResult start = Ctl({"start", "x"});
  EXPECT_EQ(start.exit_code, 0) << start.Describe() << daemon_->ReadLog();
  EXPECT_EQ(EntriesUnder("/run/berth/fifo"), 2u);  // the stopped task's went with it
  EXPECT_NE(Ctl({"ps"}).out.find("Up "), std::string::npos);
  EXPECT_EQ(Ctl({"kill", "-s", "KILL", "x"}).exit_code, 0);
  CommandResult wait = Ctl({"wait", "x"});
  EXPECT_EQ(wait.out, "137\n") << wait.Describe();

  CommandResult rm = Ctl({"rm", "x"});
  EXPECT_EQ(rm.exit_code, 0) << rm.Describe();
  EXPECT_EQ(Ctl({"ps", "-a", "-q"}).out, "");
  EXPECT_EQ(EntriesUnder("/run/berth/ctl"), 0u);
  EXPECT_EQ(EntriesUnder("/run/berth/fifo"), 0u);
}

TEST_F(CtlTasksTest, StopUsesSigtermFirstAndSigkillAfterTheTimeout) {
  // A shell that exits 7 on SIGTERM: stop returns long before the timeout.
  ASSERT_EQ(Ctl({"run", "-d", "--name", "polite", "busybox", "sh", "-c",
                 "trap 'exit 7' TERM; while true; do sleep 0.1; done"}).exit_code, 0);
  auto before = Clock::now();
  EXPECT_EQ(Ctl({"stop", "-t", "20", "polite"}).exit_code, 0);
  EXPECT_LT(Clock::now() - before, std::chrono::seconds(10));
  EXPECT_EQ(Ctl({"wait", "polite"}).out, "7\n");
  // One that ignores SIGTERM is SIGKILLed after -t 1.
  ASSERT_EQ(Ctl({"run", "-d", "--name", "stubborn", "busybox", "sh", "-c",
                 "trap '' TERM; while true; do sleep 0.1; done"}).exit_code, 0);
  before = Clock::now();
  EXPECT_EQ(Ctl({"stop", "-t", "1", "stubborn"}).exit_code, 0);
  auto took = Clock::now() - before;
  EXPECT_GE(took, std::chrono::milliseconds(900));
  EXPECT_LT(took, std::chrono::seconds(10));
  EXPECT_EQ(Ctl({"wait", "stubborn"}).out, "137\n");
}

TEST_F(CtlTasksTest, RmForceRemovesARunningContainer) {
  ASSERT_EQ(Ctl({"run", "-d", "--name", "busy", "busybox", "sleep", "1000"}).exit_code, 0);
  CommandResult refused = Ctl({"rm", "busy"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("is running"), std::string::npos) << refused.err;
  CommandResult forced = Ctl({"rm", "-f", "busy"});
  EXPECT_EQ(forced.exit_code, 0) << forced.Describe();
  EXPECT_EQ(Ctl({"ps", "-a", "-q"}).out, "");
}

TEST_F(CtlTasksTest, AttachFollowsOutputAndExitCode) {
  ASSERT_EQ(Ctl({"run", "-d", "--name", "talker", "busybox", "sh", "-c",
                 "sleep 2; echo attached; exit 4"}).exit_code, 0);
  CommandResult attach = Ctl({"attach", "talker"});
  EXPECT_EQ(attach.exit_code, 4) << attach.Describe();
  EXPECT_EQ(attach.out, "attached\n");
}

TEST_F(CtlTasksTest, ContainersAreFoundByIdPrefix) {
  CommandResult run = Ctl({"run", "-d", "busybox", "sleep", "1000"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  std::string id(absl::StripAsciiWhitespace(run.out));
  ASSERT_EQ(id.size(), 64u) << id;
  EXPECT_EQ(Ctl({"ps", "-q"}).out, id.substr(0, 12) + "\n");
  EXPECT_EQ(Ctl({"exec", id.substr(0, 6), "echo", "prefix"}).out, "prefix\n");
  EXPECT_EQ(Ctl({"rm", "-f", id.substr(0, 12)}).exit_code, 0);
}

}  // namespace
}  // namespace berth::ctl_test
