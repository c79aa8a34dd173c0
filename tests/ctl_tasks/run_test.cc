// berthctl run in the foreground: output, exit codes, --rm, and the flags that shape the
// process (-e, -w, -u, --memory) observed from inside the container.

#include <signal.h>
#include <sys/wait.h>

#include "absl/strings/strip.h"
#include "tests/ctl_tasks/ctl_fixture.h"

namespace berth::ctl_test {
namespace {

TEST_F(CtlTasksTest, RunRmEchoPrintsAndLeavesNothing) {
  size_t snapshots = Snapshots().size();
  CommandResult hi = Ctl({"run", "--rm", "busybox", "echo", "hi"});
  EXPECT_EQ(hi.exit_code, 0) << hi.Describe() << daemon_->ReadLog();
  EXPECT_EQ(hi.out, "hi\n");
  EXPECT_EQ(Ctl({"ps", "-a", "-q"}).out, "");
  EXPECT_EQ(Snapshots().size(), snapshots);
  EXPECT_EQ(EntriesUnder("/run/berth/ctl"), 0u);
  EXPECT_EQ(EntriesUnder("/run/berth/fifo"), 0u);
}

TEST_F(CtlTasksTest, RunExitsWithTheContainersCode) {
  CommandResult three = Ctl({"run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(three.exit_code, 3) << three.Describe();
  EXPECT_EQ(three.out, "out\n");
  EXPECT_EQ(three.err, "err\n");
}

TEST_F(CtlTasksTest, RunWithoutRmKeepsAnExitedContainer) {
  CommandResult run = Ctl({"run", "--name", "kept", "busybox", "sh", "-c", "exit 5"});
  EXPECT_EQ(run.exit_code, 5) << run.Describe();
  CommandResult ps = Ctl({"ps", "-a"});
  EXPECT_NE(ps.out.find("Exited (5)"), std::string::npos) << ps.out;
  EXPECT_EQ(Ctl({"wait", "kept"}).out, "5\n");
  // It can run again on the same snapshot.
  CommandResult again = Ctl({"start", "-a", "kept"});
  EXPECT_EQ(again.exit_code, 5) << again.Describe();
  EXPECT_EQ(EntriesUnder("/run/berth/ctl"), 1u);
  // What an older berthctl kept per container (/run/berth/ctl/<ns>/<id>) goes with it too.
  std::string legacy = absl::StrCat("/run/berth/ctl/", ns_, "/kept");
  std::filesystem::create_directories(legacy);
  std::ofstream(legacy + "/hosts") << "127.0.0.1 localhost\n";
  EXPECT_EQ(Ctl({"rm", "kept"}).exit_code, 0);
  EXPECT_EQ(EntriesUnder("/run/berth/ctl"), 0u);
  EXPECT_FALSE(std::filesystem::exists(absl::StrCat("/run/berth/ctl/", ns_)));
}

TEST_F(CtlTasksTest, RunAppliesEnvWorkdirUserAndMemory) {
  CommandResult env = Ctl({"run", "--rm", "-e", "FOO=bar", "busybox", "sh", "-c", "echo $FOO $PATH"});
  EXPECT_EQ(env.out, "bar /bin\n") << env.Describe();
  CommandResult pwd = Ctl({"run", "--rm", "-w", "/tmp", "busybox", "pwd"});
  EXPECT_EQ(pwd.out, "/tmp\n") << pwd.Describe();
  CommandResult id = Ctl({"run", "--rm", "-u", "1000:1001", "busybox", "sh", "-c", "id -u; id -g"});
  EXPECT_EQ(id.out, "1000\n1001\n") << id.Describe();
  CommandResult memory = Ctl({"run", "--rm", "--memory", "64m", "busybox", "sh", "-c",
                              "cat /sys/fs/cgroup/memory.max 2>/dev/null || "
                              "cat /sys/fs/cgroup/memory/memory.limit_in_bytes"});
  EXPECT_EQ(memory.out, "67108864\n") << memory.Describe();
  CommandResult cpus = Ctl({"run", "--rm", "--cpus", "0.5", "busybox", "sh", "-c",
                            "cat /sys/fs/cgroup/cpu.max 2>/dev/null || "
                            "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us"});
  EXPECT_EQ(cpus.out.substr(0, 5), "50000") << cpus.Describe();
  CommandResult host = Ctl({"run", "--rm", "-h", "box", "busybox", "sh", "-c",
                            "hostname; cat /etc/hostname; grep -c box /etc/hosts"});
  EXPECT_EQ(host.out, "box\nbox\n1\n") << host.Describe();
}

TEST_F(CtlTasksTest, RunAppliesTheDefaultSecurityProfile) {
  // Docker's default capabilities: no CAP_SYS_ADMIN (bit 21) in the bounding set.
  CommandResult caps = Ctl({"run", "--rm", "busybox", "sh", "-c", "grep CapBnd /proc/self/status"});
  ASSERT_EQ(caps.exit_code, 0) << caps.Describe();
  EXPECT_NE(caps.out.find("00000000a80425fb"), std::string::npos) << caps.out;
  // Seccomp filter mode (2), masked /proc/kcore (empty), read-only /proc/sys.
  CommandResult sec = Ctl({"run", "--rm", "busybox", "sh", "-c",
                           "grep Seccomp: /proc/self/status; cat /proc/kcore | wc -c; "
                           "echo 1 > /proc/sys/kernel/domainname || echo ro"});
  EXPECT_NE(sec.out.find("Seccomp:\t2"), std::string::npos) << sec.Describe();
  EXPECT_NE(sec.out.find("\n0\n"), std::string::npos) << sec.Describe();
  EXPECT_NE(sec.out.find("ro"), std::string::npos) << sec.out;
}

TEST_F(CtlTasksTest, RunPassesStdinWithI) {
  testutil::RunOptions options;
  options.stdin_data = "from stdin\n";
  options.env = {"BERTH_ADDRESS=", "BERTH_NAMESPACE="};
  auto result = testutil::RunCommand(CtlArgv({"run", "--rm", "-i", "busybox", "cat"}), options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0) << result->Describe();
  EXPECT_EQ(result->out, "from stdin\n");
}

TEST_F(CtlTasksTest, RunUnpacksForAnotherSnapshotter) {
  // `image load` unpacked for overlayfs only; run asks the daemon to unpack for native.
  CommandResult run = Ctl({"run", "--rm", "--snapshotter", "native", "busybox", "cat", "/hello.txt"});
  EXPECT_EQ(run.exit_code, 0) << run.Describe() << daemon_->ReadLog();
  EXPECT_EQ(run.out, "hello\n");
  CommandResult bad = Ctl({"run", "--rm", "--snapshotter", "nosuch", "busybox", "true"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_EQ(Ctl({"ps", "-a", "-q"}).out, "");
}

TEST_F(CtlTasksTest, RunForwardsSignalsToTheContainer) {
  auto run = testutil::BackgroundProcess::Start(
      CtlArgv({"run", "--rm", "busybox", "sh", "-c",
               "trap 'echo got-term; exit 9' TERM; echo ready; while true; do sleep 0.1; done"}),
      {"BERTH_ADDRESS=", "BERTH_NAMESPACE="});
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE((*run)->WaitForStdout("ready", std::chrono::seconds(30))) << (*run)->Stderr();
  int status = (*run)->Kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status)) << testutil::DescribeWaitStatus(status);
  EXPECT_EQ(WEXITSTATUS(status), 9) << (*run)->Stderr();
  EXPECT_EQ((*run)->Stdout(), "ready\ngot-term\n");
  EXPECT_EQ(Ctl({"ps", "-a", "-q"}).out, "");
}

}  // namespace
}  // namespace berth::ctl_test
