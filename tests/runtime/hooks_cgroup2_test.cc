// Privileged tests: OCI hooks, the cgroup v2 manager (in a private mount namespace where the
// host's cgroup mounts are replaced by one cgroup2 mount), stats and OOM notification.

#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "plugins/base/file_util.h"
#include "runtime/oci/container.h"
#include "tests/runtime/bundle_util.h"

namespace berth::oci::testing {
namespace {

class HooksCgroup2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    berth_ = absl::StrCat(BerthRuntimePath(), " --root ", root_.dir());
  }
  StateRoot root_;
  std::string berth_;
};

nlohmann::json Hook(const std::string& script) {
  return {{"path", "/bin/sh"}, {"args", {"sh", "-c", script}}};
}

TEST_F(HooksCgroup2Test, HooksRunInOrderWithState) {
  Bundle b;
  std::string log = b.dir() + "/hooks.log";
  auto record = [&](const std::string& name) {
    return Hook(absl::StrCat("echo ", name, " $(grep -o '\"status\":\"[a-z]*\"' -) >> ", log));
  };
  b.config()["hooks"] = {{"prestart", {record("prestart")}},
                         {"createRuntime", {record("createRuntime")}},
                         {"createContainer", {record("createContainer")}},
                         {"startContainer", {Hook("echo startContainer > /tmp/start-hook")}},
                         {"poststart", {record("poststart")}},
                         {"poststop", {record("poststop")}}};
  b.SetArgs({"cat", "/tmp/start-hook"});
  b.Write();
  CommandResult r = RunCommand(absl::StrCat(berth_, " run -b ", b.dir(), " hooks </dev/null"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "startContainer\n");
  absl::StatusOr<std::string> text = ReadFile(log);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "prestart \"status\":\"creating\"\ncreateRuntime \"status\":\"creating\"\n"
            "createContainer \"status\":\"creating\"\npoststart \"status\":\"running\"\n"
            "poststop \"status\":\"stopped\"\n");
}

TEST_F(HooksCgroup2Test, FailingHookFailsCreateAndCleansUp) {
  Bundle b;
  b.config()["hooks"] = {{"createRuntime", {Hook("exit 3")}}};
  b.SetArgs({"sleep", "4243"});
  b.Write();
  CommandResult r = RunDetached(absl::StrCat(berth_, " create -b ", b.dir(), " badhook"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("createRuntime hook"), std::string::npos) << r.output;
  EXPECT_FALSE(PathExists(JoinPath(root_.dir(), "badhook")));
  EXPECT_FALSE(PathExists("/sys/fs/cgroup/pids/badhook"));
  EXPECT_EQ(RunCommand("pgrep -f 'sleep [4]243' | wc -l").output, "0\n");
}

// Runs `script` in a private mount namespace where /sys/fs/cgroup is a pure cgroup2 mount.
CommandResult InCgroup2(const std::string& script) {
  return RunCommand(absl::StrCat(
      "unshare -m --propagation private sh -c 'umount -R /sys/fs/cgroup && "
      "mount -t cgroup2 cgroup2 /sys/fs/cgroup && ", script, "'"));
}

TEST_F(HooksCgroup2Test, Cgroup2ManagerRunsPausesAndCleansUp) {
  Bundle b;
  b.config()["linux"]["resources"] = nlohmann::json::object();
  b.config()["linux"]["cgroupsPath"] = "/berth-v2-test";
  b.SetArgs({"sh", "-c", "cat /proc/self/cgroup; ls /sys/fs/cgroup/berth-v2-test/cgroup.freeze"});
  b.Write();
  CommandResult r = InCgroup2(absl::StrCat(berth_, " run -b ", b.dir(), " v2 </dev/null"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("0::/berth-v2-test"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("/sys/fs/cgroup/berth-v2-test/cgroup.freeze"), std::string::npos) << r.output;

  b.SetArgs({"sleep", "1000"});
  b.Write();
  std::string script = absl::StrCat(
      berth_, " run -d -b ", b.dir(), " v2p >/dev/null 2>&1 </dev/null && ", berth_,
      " pause v2p && cat /sys/fs/cgroup/berth-v2-test/cgroup.freeze && ", berth_,
      " state v2p | grep status && ", berth_, " resume v2p && ", berth_,
      " state v2p | grep status && ", berth_, " delete -f v2p && ls /sys/fs/cgroup | grep -c berth-v2-test");
  r = InCgroup2(script);
  EXPECT_EQ(r.output, "1\n  \"status\": \"paused\",\n  \"status\": \"running\",\n0\n");
}

TEST_F(HooksCgroup2Test, Cgroup2MissingControllerIsAClearError) {
  Bundle b;
  b.config()["linux"]["resources"] = {{"pids", {{"limit", 10}}}};
  b.config()["linux"]["cgroupsPath"] = "/berth-v2-missing";
  b.Write();
  CommandResult r = InCgroup2(absl::StrCat(berth_, " run -b ", b.dir(), " v2m </dev/null; ls /sys/fs/cgroup | grep -c berth-v2-missing"));
  EXPECT_NE(r.output.find("controller `pids` is not available"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\n0\n"), std::string::npos) << r.output;
}

// On this host the cgroup2 hierarchy holds only hugetlb (memory, pids and cpu are bound to v1
// hierarchies, so no v2 mount can enable them): the v2 manager's limit writing is shown with
// hugetlb, which takes the same path as memory.max, pids.max and cpu.max.
TEST_F(HooksCgroup2Test, Cgroup2WritesLimits) {
  Bundle b;
  b.config()["linux"]["resources"] = {
      {"hugepageLimits", {{{"pageSize", "2MB"}, {"limit", 4194304}}}}};
  b.config()["linux"]["cgroupsPath"] = "/berth-v2-limits";
  b.SetArgs({"sleep", "1000"});
  b.Write();
  CommandResult r = InCgroup2(absl::StrCat(
      berth_, " run -d -b ", b.dir(), " v2l >/dev/null 2>&1 </dev/null && "
      "cat /sys/fs/cgroup/berth-v2-limits/hugetlb.2MB.max && ",
      berth_, " delete -f v2l && ls /sys/fs/cgroup | grep -c berth-v2-limits"));
  EXPECT_EQ(r.output, "4194304\n0\n");
}

TEST_F(HooksCgroup2Test, StatsAndOomNotificationThroughTheLibrary) {
  Bundle b;
  b.config()["linux"]["resources"]["memory"] = {{"limit", 16 << 20}, {"swap", 16 << 20}};
  b.SetArgs({"sh", "-c", "read x; x=$(head -c 67108864 /dev/zero | tr '\\0' a)"});
  b.Write();
  Runtime runtime(root_.dir());
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  CreateOptions options;
  options.bundle = b.dir();
  options.stdio.in = pipe_fds[0];
  absl::StatusOr<ContainerState> state = runtime.Create("oom", options);
  ASSERT_TRUE(state.ok()) << state.status();
  close(pipe_fds[0]);
  absl::StatusOr<int> oom_fd = runtime.OomEventFd("oom");
  ASSERT_TRUE(oom_fd.ok()) << oom_fd.status();
  ASSERT_TRUE(runtime.Start("oom").ok());
  absl::StatusOr<CgroupStats> stats = runtime.Stats("oom");
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->memory_limit, 16u << 20);
  EXPECT_GE(stats->pids_current, 1u);
  ASSERT_EQ(write(pipe_fds[1], "go\n", 3), 3);
  close(pipe_fds[1]);
  pollfd p{*oom_fd, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 10000), 1) << "no OOM event";
  close(*oom_fd);
  for (int i = 0; i < 100 && runtime.State("oom")->status != ContainerStatus::kStopped; ++i) {
    usleep(20000);
  }
  stats = runtime.Stats("oom");
  ASSERT_TRUE(stats.ok());
  EXPECT_GE(stats->oom_kill, 1u);
  EXPECT_TRUE(runtime.Delete("oom", false).ok());
}

}  // namespace
}  // namespace berth::oci::testing
