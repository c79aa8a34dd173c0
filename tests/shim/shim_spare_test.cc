// berthd's spare berth-shim (runtime/v2/spare_shims.h), driven by Debian's ctr: the next
// task is served by the shim started ahead (which then shows the task in ps, lives in the
// task's bundle and exits with it), another spare follows, a deleted task's shim becomes the
// next spare when none is ready, a dead spare is not used, and a spare left by a SIGKILLed
// daemon is shut down when it restarts.

#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "plugins/base/file_util.h"
#include "tests/shim/shim_fixture.h"

namespace berth::shim_test {
namespace {

bool Alive(int pid) {
  std::string stat;
  if (absl::StatusOr<std::string> s = ReadFile(absl::StrCat("/proc/", pid, "/stat")); s.ok()) {
    stat = *s;
  }
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') out.emplace_back(e->d_name);
    }
    closedir(d);
  }
  return out;
}

template <typename Predicate>
bool WaitFor(Predicate done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// What the symlink at `path` points to ("net:[inode]" for a namespace), or "".
std::string LinkTarget(const std::string& path) {
  char target[64] = {};
  ssize_t n = readlink(path.c_str(), target, sizeof(target) - 1);
  return n > 0 ? std::string(target, n) : "";
}

// The network namespace `pid` holds an fd of ("net:[inode]"), or "" if none.
std::string HeldNetworkNamespace(int pid) {
  std::string fd_dir = absl::StrCat("/proc/", pid, "/fd");
  for (const std::string& fd : Entries(fd_dir)) {
    std::string target = LinkTarget(absl::StrCat(fd_dir, "/", fd));
    if (target.rfind("net:[", 0) == 0) return target;
  }
  return "";
}

std::string NetworkNamespaceOf(const std::string& pid) {
  return LinkTarget(absl::StrCat("/proc/", pid, "/ns/net"));
}

class ShimSpareTest : public ShimFixture {
 protected:
  void SetUp() override { StartShimDaemon("shim-spare"); }

  std::string SpareDir() const {
    return absl::StrCat(daemon_->state(), "/io.containerd.runtime.v2.task/.spare");
  }
  std::string BundleOf(const std::string& id) const {
    return absl::StrCat(daemon_->state(), "/io.containerd.runtime.v2.task/", ns_, "/", id);
  }

  // The pid of the ready spare (its bundle holds the address and pid `start` wrote, and the
  // shim answers to them), or 0 after 5 s without one. `other_than`: not that one.
  int ReadySpare(int other_than = 0) {
    int pid = 0;
    WaitFor([&] {
      std::vector<std::string> spares = Entries(SpareDir());
      if (spares.size() != 1) return false;
      std::string dir = absl::StrCat(SpareDir(), "/", spares[0]);
      absl::StatusOr<std::string> text = ReadFile(dir + "/shim.pid");
      return PathExists(dir + "/address") && text.ok() &&
             absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid) && pid != other_than &&
             Alive(pid);
    });
    return pid;
  }
};

TEST_F(ShimSpareTest, TheNextTaskIsServedByTheSpare) {
  int spare = ReadySpare();
  ASSERT_GT(spare, 0) << "no spare shim started: " << daemon_->ReadLog();
  // A waiting spare only gets idle CPU; once adopted, it and its container run normally.
  EXPECT_EQ(sched_getscheduler(spare), SCHED_IDLE);
  testutil::CommandResult run = RunWith(kBerthRuntime, {"-d"}, "c1", {"sleep", "100"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(sched_getscheduler(spare), SCHED_OTHER);
  absl::StatusOr<std::string> children =
      ReadFile(absl::StrCat("/proc/", spare, "/task/", spare, "/children"));
  int init = 0;
  ASSERT_TRUE(children.ok() &&
              absl::SimpleAtoi(absl::StripAsciiWhitespace(*children), &init))
      << (children.ok() ? *children : children.status().ToString());
  EXPECT_EQ(sched_getscheduler(init), SCHED_OTHER);
  // The spare is the task's shim now: ps shows the task's namespace and id, the spare's
  // bundle is gone and the task's holds what `start` would have written.
  EXPECT_EQ(ShimPids(daemon_->address(), "c1"), std::vector<int>{spare});
  absl::StatusOr<std::string> pid_file = ReadFile(BundleOf("c1") + "/shim.pid");
  ASSERT_TRUE(pid_file.ok()) << pid_file.status();
  EXPECT_EQ(*pid_file, absl::StrCat(spare));
  EXPECT_TRUE(PathExists(BundleOf("c1") + "/address"));
  absl::StatusOr<std::string> cwd = ReadFile(absl::StrCat("/proc/", spare, "/cwd/config.json"));
  EXPECT_TRUE(cwd.ok()) << "the adopted shim's cwd is not the task's bundle";

  // Everything works through it, and once quiet another spare is started.
  testutil::CommandResult exec = Ctr({"t", "exec", "--exec-id", "e1", "c1", "echo", "via spare"});
  EXPECT_EQ(exec.exit_code, 0) << exec.Describe();
  EXPECT_EQ(exec.out, "via spare\n");
  int next = ReadySpare(spare);
  EXPECT_GT(next, 0) << "no spare after the first was taken";
  testutil::CommandResult rm = RunWith(kBerthRuntime, {"--rm"}, "c2", {"sh", "-c", "exit 3"});
  EXPECT_EQ(rm.exit_code, 3) << rm.Describe();

  // The adopted shim exits with its task.
  ASSERT_EQ(Ctr({"t", "kill", "-s", "SIGKILL", "c1"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return Ctr({"t", "rm", "c1"}).exit_code == 0; }));
  EXPECT_TRUE(WaitFor([&] { return !Alive(spare); })) << "the adopted shim outlived its task";
  EXPECT_FALSE(PathExists(BundleOf("c1")));
}

// With no spare ready, the shim of a deleted task is kept as the next spare (Recycle) instead of
// exiting: it moves to a spare bundle, shows as a spare in ps, and serves the next task, exec
// included, with no shim started in between. With a spare ready, it exits as before.
TEST_F(ShimSpareTest, ADeletedTasksShimBecomesTheNextSpare) {
  int spare = ReadySpare();
  ASSERT_GT(spare, 0) << "no spare shim started: " << daemon_->ReadLog();
  testutil::CommandResult first = RunWith(kBerthRuntime, {"--rm"}, "c1", {"echo", "one"});
  ASSERT_EQ(first.exit_code, 0) << first.Describe();
  EXPECT_EQ(first.out, "one\n");
  EXPECT_EQ(ReadySpare(), spare) << "the shim of c1 was not kept as the spare: "
                                 << daemon_->ReadLog();
  EXPECT_FALSE(PathExists(BundleOf("c1")));
  absl::StatusOr<std::string> cmdline = ReadFile(absl::StrCat("/proc/", spare, "/cmdline"));
  ASSERT_TRUE(cmdline.ok()) << cmdline.status();
  EXPECT_NE(cmdline->find(std::string("-namespace\0.spare\0", 18)), std::string::npos)
      << "ps does not show a waiting spare";
  EXPECT_EQ(cmdline->find("c1"), std::string::npos) << "ps still shows the deleted task";

  testutil::CommandResult run = RunWith(kBerthRuntime, {"-d"}, "c2", {"sleep", "100"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(ShimPids(daemon_->address(), "c2"), std::vector<int>{spare});
  testutil::CommandResult exec = Ctr({"t", "exec", "--exec-id", "e1", "c2", "echo", "two"});
  EXPECT_EQ(exec.exit_code, 0) << exec.Describe();
  EXPECT_EQ(exec.out, "two\n");
  // Meanwhile a new spare started (c2 ran for longer than the quiet period): the pool holds
  // one, so the shim of c2 exits with it.
  int next = ReadySpare(spare);
  ASSERT_GT(next, 0) << "no spare after the recycled one was taken";
  ASSERT_EQ(Ctr({"t", "kill", "-s", "SIGKILL", "c2"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return Ctr({"t", "rm", "c2"}).exit_code == 0; }));
  EXPECT_TRUE(WaitFor([&] { return !Alive(spare); })) << "a second spare was kept";
  EXPECT_EQ(ReadySpare(), next);
  EXPECT_EQ(Entries(SpareDir()).size(), 1u);
}

// A waiting spare makes its next task's network namespace ahead (most of a clone's cost) and
// stays in the host's; the task's init joins that one, so it holds a fresh namespace of its own,
// not the host's, and the shim lets go of it. The recycled shim makes another for the next.
TEST_F(ShimSpareTest, ASpareMakesItsNextTasksNetworkNamespaceAhead) {
  int spare = ReadySpare();
  ASSERT_GT(spare, 0) << "no spare shim started: " << daemon_->ReadLog();
  std::string ahead;
  ASSERT_TRUE(WaitFor([&] { return !(ahead = HeldNetworkNamespace(spare)).empty(); }))
      << "the spare holds no network namespace";
  std::string host = NetworkNamespaceOf("self");
  EXPECT_NE(ahead, host);
  EXPECT_EQ(NetworkNamespaceOf(absl::StrCat(spare)), host) << "the spare left the host's";

  testutil::CommandResult run = RunWith(kBerthRuntime, {"-d"}, "c1", {"sleep", "100"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  absl::StatusOr<std::string> init =
      ReadFile(absl::StrCat("/proc/", spare, "/task/", spare, "/children"));
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(NetworkNamespaceOf(std::string(absl::StripAsciiWhitespace(*init))), ahead);
  EXPECT_EQ(HeldNetworkNamespace(spare), "") << "the shim still holds the task's namespace";
  testutil::CommandResult links = Ctr({"t", "exec", "--exec-id", "e1", "c1", "cat", "/proc/net/dev"});
  EXPECT_EQ(links.exit_code, 0) << links.Describe();
  EXPECT_NE(links.out.find("lo:"), std::string::npos) << links.out;
  EXPECT_EQ(links.out.find("eth"), std::string::npos) << "a host interface is visible: " << links.out;

  ASSERT_EQ(Ctr({"t", "kill", "-s", "SIGKILL", "c1"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return Ctr({"t", "rm", "c1"}).exit_code == 0; }));
}

TEST_F(ShimSpareTest, ADeadSpareIsNotUsed) {
  int spare = ReadySpare();
  ASSERT_GT(spare, 0);
  ASSERT_EQ(kill(spare, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return !Alive(spare); }));
  testutil::CommandResult run = RunWith(kBerthRuntime, {"--rm"}, "c1", {"echo", "fresh shim"});
  EXPECT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(run.out, "fresh shim\n");
  // Its Adopt (sent ahead of Create) failed, so the task went to a shim started for it.
  EXPECT_NE(daemon_->ReadLog().find("not adopted"), std::string::npos) << daemon_->ReadLog();
  // The dead spare's bundle went with it; a new spare takes its place.
  EXPECT_GT(ReadySpare(spare), 0);
  EXPECT_EQ(Entries(SpareDir()).size(), 1u);
}

// berthd watches an adopted shim's process (a pidfd on the pid Connect reports): when it dies,
// the task is cleaned up as for any dead shim, bundle included (a closed connection alone does
// not do that).
TEST_F(ShimSpareTest, TheDeathOfAnAdoptedShimIsNoticed) {
  int spare = ReadySpare();
  ASSERT_GT(spare, 0) << "no spare shim started: " << daemon_->ReadLog();
  testutil::CommandResult run = RunWith(kBerthRuntime, {"-d"}, "c1", {"sleep", "100"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  ASSERT_EQ(ShimPids(daemon_->address(), "c1"), std::vector<int>{spare});
  ASSERT_TRUE(PathExists(BundleOf("c1")));
  ASSERT_EQ(kill(spare, SIGKILL), 0);
  EXPECT_TRUE(WaitFor([&] { return !PathExists(BundleOf("c1")); }))
      << "the bundle of a dead adopted shim's task is still there: " << daemon_->ReadLog();
  EXPECT_EQ(Ctr({"t", "ls"}).out.find("c1"), std::string::npos);
  EXPECT_EQ(Ctr({"c", "rm", "c1"}).exit_code, 0);
}

TEST_F(ShimSpareTest, ARestartedDaemonShutsDownTheSpareOfTheOneBefore) {
  int spare = ReadySpare();
  ASSERT_GT(spare, 0);
  ASSERT_TRUE(daemon_->Kill(SIGKILL).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(Alive(spare)) << "a spare does not depend on the daemon";
  ASSERT_TRUE(daemon_->StartProcess().ok()) << daemon_->ReadLog();
  EXPECT_TRUE(WaitFor([&] { return !Alive(spare); })) << "the old spare was left running";
  int next = ReadySpare(spare);
  EXPECT_GT(next, 0);
  EXPECT_EQ(Entries(SpareDir()).size(), 1u);
  // The spare's directory is no namespace of tasks: nothing was restored from it.
  EXPECT_EQ(daemon_->ReadLog().find("not restored"), std::string::npos) << daemon_->ReadLog();
  testutil::CommandResult run = RunWith(kBerthRuntime, {"--rm"}, "c1", {"echo", "after restart"});
  EXPECT_EQ(run.out, "after restart\n") << run.Describe();
}

}  // namespace
}  // namespace berth::shim_test
