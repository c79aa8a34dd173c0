// Debian's ctr (containerd 1.6) against berthd with runtime io.containerd.berth.v1 (berth-shim,
// in-process OCI runtime): the same commands tests/tasks runs with the runc shim, a terminal
// session in tmux, and bad input.

#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "plugins/base/file_util.h"
#include "tests/shim/shim_fixture.h"
#include "tests/tasks/task_env.h"
#include "tests/testutil/grpc_client.h"
#include "tests/testutil/process.h"
#include "tests/testutil/test_daemon.h"

namespace berth::shim_test {
namespace {

using tasks_test::BusyboxRootfs;
using tasks_test::TaskClient;

class ShimCtrTest : public ShimFixture {
 protected:
  void SetUp() override { StartShimDaemon("shim-ctr"); }

  // `ctr run` with the berth runtime and the test's rootfs.
  testutil::CommandResult Run(std::vector<std::string> flags, const std::string& id,
                              std::vector<std::string> args) {
    return RunWith(kBerthRuntime, std::move(flags), id, std::move(args));
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

};

TEST_F(ShimCtrTest, RunRmEchoHiAndExitCodes) {
  testutil::CommandResult hi = Run({"--rm"}, "hi", {"/bin/echo", "hi"});
  EXPECT_EQ(hi.exit_code, 0) << hi.Describe() << daemon_->ReadLog();
  EXPECT_EQ(hi.out, "hi\n");
  testutil::CommandResult three = Run({"--rm"}, "three", {"/bin/sh", "-c", "exit 3"});
  EXPECT_EQ(three.exit_code, 3) << three.Describe();
  // stdin reaches the process and its EOF too.
  std::vector<std::string> argv = {"/usr/bin/ctr", "-a", daemon_->address(), "-n", ns_, "run",
                                   "--rm", "--runtime", kBerthRuntime, "--fifo-dir", fifo_dir_,
                                   "--rootfs", rootfs_->path(), "cat", "/bin/cat"};
  auto cat = testutil::RunCommand(argv, {.stdin_data = "through stdin\n",
                                         .env = {"CONTAINERD_ADDRESS=", "CONTAINERD_NAMESPACE="}});
  ASSERT_TRUE(cat.ok()) << cat.status();
  EXPECT_EQ(cat->exit_code, 0) << cat->Describe();
  EXPECT_EQ(cat->out, "through stdin\n");
  EXPECT_EQ(Ctr({"c", "ls", "-q"}).out, "");
}

// The shim ignores SIGPIPE and blocks SIGCHLD, and glibc's posix_spawn (how berthd starts it)
// leaves glibc's internal signals 32 and 33 ignored: the container's process and the processes
// exec'd into it start with none of that.
TEST_F(ShimCtrTest, ContainerAndExecStartWithDefaultSignals) {
  auto expect_defaults = [](const testutil::CommandResult& status) {
    for (const char* mask : {"SigBlk", "SigIgn", "SigCgt"}) {
      EXPECT_NE(status.out.find(absl::StrCat("\n", mask, ":\t0000000000000000\n")),
                std::string::npos)
          << mask << " is not empty:\n" << status.out;
    }
  };
  testutil::CommandResult run = Run({"--rm"}, "signals", {"/bin/cat", "/proc/self/status"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  expect_defaults(run);
  ASSERT_EQ(Run({"-d"}, "sigexec", {"/bin/sleep", "1000"}).exit_code, 0);
  testutil::CommandResult exec = Ctr({"t", "exec", "--fifo-dir", fifo_dir_, "--exec-id", "e1",
                                      "sigexec", "/bin/cat", "/proc/self/status"});
  ASSERT_EQ(exec.exit_code, 0) << exec.Describe();
  expect_defaults(exec);
  EXPECT_EQ(Ctr({"t", "rm", "-f", "sigexec"}).exit_code, 0);
  EXPECT_EQ(Ctr({"c", "rm", "sigexec"}).exit_code, 0);
}

TEST_F(ShimCtrTest, DetachedTaskLsExecPsMetricsPauseKillRm) {
  testutil::CommandResult run = Run({"-d"}, "bg", {"/bin/sleep", "1000"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe() << daemon_->ReadLog();
  auto [status, pid] = TaskRow("bg");
  EXPECT_EQ(status, "RUNNING");
  ASSERT_EQ(ShimPids(daemon_->address(), "bg").size(), 1u);
  {
    // berthd execs berth-shim from a view nobody can write, so the shim runs sealed without
    // re-executing itself (which would have left its marker in its initial environment), and
    // keeps its name for ps.
    std::string proc = absl::StrCat("/proc/", ShimPids(daemon_->address(), "bg")[0]);
    struct statvfs exe_fs;
    ASSERT_EQ(statvfs((proc + "/exe").c_str(), &exe_fs), 0);
    EXPECT_NE(exe_fs.f_flag & ST_RDONLY, 0u) << "the shim runs from a writable file";
    auto environ_block = ReadFile(proc + "/environ");
    ASSERT_TRUE(environ_block.ok()) << environ_block.status();
    EXPECT_FALSE(absl::StrContains(*environ_block, "_BERTH_RUNTIME_SEALED"));
    EXPECT_EQ(ReadFile(proc + "/comm").value_or(""), "berth-shim\n");
  }
  testutil::CommandResult exec = Ctr({"t", "exec", "--fifo-dir", fifo_dir_, "--exec-id", "e1",
                                      "bg", "/bin/sh", "-c", "echo out; echo err >&2; exit 4"});
  EXPECT_EQ(exec.exit_code, 4) << exec.Describe();
  EXPECT_EQ(exec.out, "out\n");
  EXPECT_EQ(exec.err, "err\n");
  testutil::CommandResult ps = Ctr({"t", "ps", "bg"});
  EXPECT_EQ(ps.exit_code, 0) << ps.Describe();
  EXPECT_TRUE(absl::StrContains(ps.out, pid)) << ps.out;
  testutil::CommandResult metrics = Ctr({"t", "metrics", "bg"});
  EXPECT_EQ(metrics.exit_code, 0) << metrics.Describe();
  EXPECT_TRUE(absl::StrContains(metrics.out, "pids.current             1")) << metrics.out;
  EXPECT_TRUE(absl::StrContains(metrics.out, "memory.usage_in_bytes")) << metrics.out;
  EXPECT_EQ(Ctr({"t", "pause", "bg"}).exit_code, 0);
  EXPECT_EQ(TaskRow("bg").first, "PAUSED");
  EXPECT_EQ(Ctr({"t", "resume", "bg"}).exit_code, 0);
  EXPECT_EQ(TaskRow("bg").first, "RUNNING");
  EXPECT_EQ(Ctr({"t", "kill", "-s", "SIGKILL", "bg"}).exit_code, 0);
  for (int i = 0; i < 100 && TaskRow("bg").first != "STOPPED"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(TaskRow("bg").first, "STOPPED");
  testutil::CommandResult rm = Ctr({"t", "rm", "bg"});
  EXPECT_EQ(rm.exit_code, 0) << rm.Describe();
  EXPECT_EQ(TaskRow("bg").first, "");
  EXPECT_EQ(Ctr({"c", "rm", "bg"}).exit_code, 0);
  // The shim exits with its last task.
  for (int i = 0; i < 50 && !ShimPids(daemon_->address(), "bg").empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(ShimPids(daemon_->address(), "bg").empty());
}

// A tmux session running one shell command line, for terminal tests.
class TmuxSession {
 public:
  explicit TmuxSession(const std::string& command) : name_(absl::StrCat("berth-shim-", getpid())) {
    ok_ = Tmux({"new-session", "-d", "-s", name_, "-x", "100", "-y", "30", command}).exit_code == 0;
  }
  ~TmuxSession() { Tmux({"kill-session", "-t", name_}); }
  bool ok() const { return ok_; }
  std::string Pane() { return Tmux({"capture-pane", "-p", "-t", name_}).out; }
  void Type(const std::string& line) { Tmux({"send-keys", "-t", name_, line, "Enter"}); }
  bool WaitFor(const std::string& text) {
    for (int i = 0; i < 100; ++i) {
      if (absl::StrContains(Pane(), text)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

 private:
  static testutil::CommandResult Tmux(std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/bin/tmux");
    auto result = testutil::RunCommand(args, {.timeout = std::chrono::seconds(10)});
    return result.ok() ? *result : testutil::CommandResult{};
  }
  std::string name_;
  bool ok_ = false;
};

TEST_F(ShimCtrTest, InteractiveTerminalInTmux) {
  if (access("/usr/bin/tmux", X_OK) != 0) GTEST_SKIP() << "tmux is not installed";
  TmuxSession tmux(absl::StrCat(
      "CONTAINERD_ADDRESS= CONTAINERD_NAMESPACE= /usr/bin/ctr -a ", daemon_->address(), " -n ",
      ns_, " run -t --rm --runtime ", kBerthRuntime, " --fifo-dir ", fifo_dir_, " --rootfs ",
      rootfs_->path(), " tty /bin/sh; echo ctr-exit=$?; sleep 30"));
  ASSERT_TRUE(tmux.ok());
  EXPECT_TRUE(tmux.WaitFor("/ #")) << tmux.Pane();  // capture-pane trims trailing blanks.
  tmux.Type("echo $((6*7))");
  EXPECT_TRUE(tmux.WaitFor("\n42\n")) << tmux.Pane();
  tmux.Type("stty size; exit 7");
  EXPECT_TRUE(tmux.WaitFor("ctr-exit=7")) << tmux.Pane();
  EXPECT_TRUE(absl::StrContains(tmux.Pane(), "30 100")) << "ctr resized the pty:\n" << tmux.Pane();
}

TEST_F(ShimCtrTest, ExecTerminalInTmux) {
  if (access("/usr/bin/tmux", X_OK) != 0) GTEST_SKIP() << "tmux is not installed";
  ASSERT_EQ(Run({"-d"}, "bg", {"/bin/sleep", "1000"}).exit_code, 0);
  TmuxSession tmux(absl::StrCat(
      "CONTAINERD_ADDRESS= CONTAINERD_NAMESPACE= /usr/bin/ctr -a ", daemon_->address(), " -n ",
      ns_, " t exec -t --fifo-dir ", fifo_dir_, " --exec-id t1 bg /bin/sh; echo exec-exit=$?; "
      "sleep 30"));
  ASSERT_TRUE(tmux.ok());
  EXPECT_TRUE(tmux.WaitFor("/ #")) << tmux.Pane();
  tmux.Type("echo $((5*5)); exit 2");
  EXPECT_TRUE(tmux.WaitFor("\n25\n")) << tmux.Pane();
  EXPECT_TRUE(tmux.WaitFor("exec-exit=2")) << tmux.Pane();
}

TEST_F(ShimCtrTest, EventsIncludingOom) {
  auto events = testutil::BackgroundProcess::Start(
      {"/usr/bin/ctr", "-a", daemon_->address(), "events"},
      {"CONTAINERD_ADDRESS=", "CONTAINERD_NAMESPACE="});
  ASSERT_TRUE(events.ok()) << events.status();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // dd's 64 MiB buffer does not fit the 16 MiB limit: the kernel OOM-kills it.
  testutil::CommandResult oom = Run({"--rm", "--memory-limit", "16777216"}, "oom",
                                    {"/bin/sh", "-c", "dd if=/dev/zero bs=64M count=1 of=/dev/null"});
  EXPECT_EQ(oom.exit_code, 137) << oom.Describe();
  EXPECT_TRUE((*events)->WaitForStdout("/tasks/delete", std::chrono::seconds(5)));
  std::string out = (*events)->Stdout();
  size_t at = 0;
  for (const char* topic : {"/tasks/create", "/tasks/start", "/tasks/oom", "/tasks/exit",
                            "/tasks/delete"}) {
    size_t found = out.find(topic, at);
    EXPECT_NE(found, std::string::npos) << topic << " missing or out of order in:\n" << out;
    if (found != std::string::npos) at = found;
  }
  (*events)->Kill(SIGTERM);
}

TEST_F(ShimCtrTest, BadInputFailsCleanly) {
  // A process that does not exist fails at create: no task, shim, mount or cgroup remains.
  testutil::CommandResult missing = Run({"-d"}, "missing", {"/nonexistent"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(missing.err, "/nonexistent")) << missing.Describe();
  EXPECT_EQ(TaskRow("missing").first, "");
  EXPECT_TRUE(ShimPids(daemon_->address(), "missing").empty());
  EXPECT_TRUE(MountsContaining(absl::StrCat("/", ns_, "/missing")).empty());
  EXPECT_TRUE(CgroupDirsOf(ns_, "missing").empty());
  EXPECT_EQ(Ctr({"c", "rm", "missing"}).exit_code, 0);

  testutil::CommandResult run = Run({"-d"}, "short", {"/bin/true"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  for (int i = 0; i < 100 && TaskRow("short").first != "STOPPED"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(TaskRow("short").first, "STOPPED");
  testutil::CommandResult exec = Ctr({"t", "exec", "--fifo-dir", fifo_dir_, "--exec-id", "e1",
                                      "short", "/bin/echo", "x"});
  EXPECT_NE(exec.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(exec.err, "stopped")) << exec.Describe();
  testutil::CommandResult kill = Ctr({"t", "kill", "--exec-id", "nope", "short"});
  EXPECT_NE(kill.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(kill.err, "nope")) << kill.Describe();
  EXPECT_EQ(Ctr({"t", "rm", "short"}).exit_code, 0);
  EXPECT_EQ(Ctr({"c", "rm", "short"}).exit_code, 0);
  EXPECT_TRUE(CgroupDirsOf(ns_, "short").empty());
}

}  // namespace
}  // namespace berth::shim_test
