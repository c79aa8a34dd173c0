// Privileged behaviour tests: the same busybox bundles run under berth-runtime, runc and (in
// a private mount namespace with the cgroup2 mount hidden) crun, comparing what the
// container sees. Skipped without root.

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/runtime/bundle_util.h"

namespace berth::oci::testing {
namespace {

class BehaviourTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    berth_ = absl::StrCat(BerthRuntimePath(), " --root ", root_.dir(), "/berth");
    runc_ = absl::StrCat("runc --root ", root_.dir(), "/runc");
    have_runc_ = HaveBinary("runc");
    have_crun_ = HaveBinary("crun");
  }

  // `run` of the bundle under one runtime; the id is unique per runtime.
  CommandResult RunBerth(Bundle& b, const std::string& id = "t") {
    b.Write();
    return RunCommand(absl::StrCat(berth_, " run -b ", b.dir(), " berth-", id, " </dev/null"));
  }
  CommandResult RunRunc(Bundle& b, const std::string& id = "t") {
    b.Write();
    return RunCommand(absl::StrCat(runc_, " run -b ", b.dir(), " runc-", id, " </dev/null"));
  }
  CommandResult RunCrun(Bundle& b, const std::string& id = "t") {
    b.Write();
    return RunCommand(absl::StrCat(
        "unshare -m sh -c 'umount /sys/fs/cgroup/unified; exec crun --root ", root_.dir(),
        "/crun run -b ", b.dir(), " crun-", id, "' </dev/null"));
  }

  StateRoot root_;
  std::string berth_, runc_;
  bool have_runc_ = false, have_crun_ = false;
};

// Which namespaces differ from the host, as seen from inside.
std::set<std::string> PrivateNamespaces(const std::string& output) {
  std::set<std::string> out;
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, '=');
    CommandResult host = RunCommand(absl::StrCat("readlink /proc/self/ns/", kv.first));
    if (absl::StripAsciiWhitespace(host.output) != kv.second) out.insert(kv.first);
  }
  return out;
}

// The lines of `text`, sorted, for outputs whose line order is not deterministic.
std::vector<std::string> SortedLines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  std::sort(lines.begin(), lines.end());
  return lines;
}

TEST_F(BehaviourTest, NamespacesHostnameCapsMatchRunc) {
  Bundle b;
  b.SetArgs({"sh", "-c",
             "for n in ipc mnt net pid uts user cgroup; do echo $n=$(readlink /proc/self/ns/$n); "
             "done"});
  CommandResult berth = RunBerth(b);
  ASSERT_EQ(berth.exit_code, 0) << berth.output;
  std::set<std::string> ns = PrivateNamespaces(berth.output);
  EXPECT_EQ(ns, (std::set<std::string>{"ipc", "mnt", "net", "pid", "uts"}));
  b.SetArgs({"sh", "-c",
             "hostname; grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' "
             "/proc/self/status; id"});
  berth = RunBerth(b, "2");
  ASSERT_EQ(berth.exit_code, 0) << berth.output;
  EXPECT_NE(berth.output.find("berth\n"), std::string::npos);
  EXPECT_NE(berth.output.find("CapEff:\t0000000020000420"), std::string::npos) << berth.output;
  EXPECT_NE(berth.output.find("NoNewPrivs:\t1"), std::string::npos);
  if (have_runc_) {
    b.config()["hostname"] = "berth";
    CommandResult runc = RunRunc(b, "2");
    EXPECT_EQ(berth.output, runc.output);
  }
  if (have_crun_) {
    CommandResult crun = RunCrun(b, "2");
    EXPECT_EQ(berth.output, crun.output);
  }
}

// Mount points and filesystem types (with ro/rw) inside the container: the lines of
// /proc/self/mounts in `output`; other lines are left out (see below).
std::string MountSummary(const std::string& output) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    if (f.size() == 6) absl::StrAppend(&out, f[1], " ", f[2], " ", f[3].substr(0, 2), "\n");
  }
  return out;
}

TEST_F(BehaviourTest, MountTableMaskedAndReadonlyPathsMatchRunc) {
  if (!have_runc_) GTEST_SKIP() << "runc not installed";
  Bundle b;
  b.config()["root"]["readonly"] = true;
  b.SetArgs({"sh", "-c",
             "cat /proc/self/mounts; ls /proc/acpi | wc -l; wc -c < /proc/kcore; "
             "touch /x 2>&1; touch /proc/sys/x 2>&1; echo done"});
  CommandResult berth = RunBerth(b);
  CommandResult runc = RunRunc(b);
  ASSERT_EQ(berth.exit_code, 0) << berth.output;
  EXPECT_EQ(MountSummary(berth.output), MountSummary(runc.output))
      << "berth:\n" << berth.output << "runc:\n" << runc.output;
  // The commands' messages, in both: checked one by one, since busybox writes "sh: " and the
  // rest of a message in two writes and the lines of stdout and stderr came interleaved
  // mid-line in one of runc's runs ("sh: touch: /x: Read-only file system").
  for (const char* message : {"can't open /proc/kcore", "/x: Read-only file system",
                              "/proc/sys/x: No such file or directory", "\n0\n", "done"}) {
    EXPECT_NE(berth.output.find(message), std::string::npos) << message << " in\n" << berth.output;
    EXPECT_NE(runc.output.find(message), std::string::npos) << message << " in\n" << runc.output;
  }
}

TEST_F(BehaviourTest, UserGroupsRlimitsMatchRunc) {
  Bundle b;
  b.config()["process"]["user"] = {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {10, 20}}};
  b.config()["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"hard", 512}, {"soft", 256}},
                                      {{"type", "RLIMIT_NPROC"}, {"hard", 300}, {"soft", 300}}};
  b.SetArgs({"sh", "-c", "id; ulimit -n; ulimit -Hn; ulimit -u; grep CapEff /proc/self/status"});
  CommandResult berth = RunBerth(b);
  ASSERT_EQ(berth.exit_code, 0) << berth.output;
  EXPECT_NE(berth.output.find("uid=1000 gid=1000 groups=10,20"), std::string::npos)
      << berth.output;
  EXPECT_NE(berth.output.find("256\n512\n300\n"), std::string::npos) << berth.output;
  if (have_runc_) {
    CommandResult runc = RunRunc(b);
    EXPECT_EQ(berth.output, runc.output);
  }
}

TEST_F(BehaviourTest, SeccompErrnoMatchesRunc) {
  Bundle b;
  b.config()["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}},
      {"syscalls",
       {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 38}},
        {{"names", {"unshare"}}, {"action", "SCMP_ACT_ERRNO"}}}}};
  b.SetArgs({"sh", "-c", "mkdir /tmp/d; echo rc=$?; grep Seccomp: /proc/self/status"});
  CommandResult berth = RunBerth(b);
  EXPECT_NE(berth.output.find("Function not implemented"), std::string::npos) << berth.output;
  EXPECT_NE(berth.output.find("Seccomp:\t2"), std::string::npos) << berth.output;
  // The compiled program is cached beside the state dirs; the next container loads it from
  // there and gets the same filter.
  CommandResult listing = RunCommand(absl::StrCat("ls ", root_.dir(), "/berth/.seccomp"));
  EXPECT_NE(listing.output.find(".bpf"), std::string::npos) << listing.output;
  EXPECT_EQ(RunBerth(b, "cached").output, berth.output);
  if (have_runc_) {
    CommandResult runc = RunRunc(b);
    EXPECT_EQ(berth.output, runc.output);
  }
}

// Repeated allow rules are written once; a deny in between still splits them (the kernel's
// list must come out as runc's).
TEST_F(BehaviourTest, DeviceRulesMatchRunc) {
  Bundle b;
  b.config()["linux"]["resources"]["devices"] = {
      {{"allow", false}, {"access", "rwm"}},
      {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"access", "rwm"}},
      {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"access", "rwm"}},
      {{"allow", true}, {"type", "c"}, {"major", 10}, {"minor", 229}, {"access", "rwm"}},
      {{"allow", false}, {"type", "c"}, {"major", 10}, {"minor", 229}, {"access", "rwm"}},
      {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 9}, {"access", "r"}}};
  b.SetArgs({"sh", "-c", "cat /sys/fs/cgroup/devices/devices.list; head -c1 /dev/urandom | wc -c"});
  CommandResult berth = RunBerth(b);
  EXPECT_NE(berth.output.find("c 1:3 rwm\n"), std::string::npos) << berth.output;
  EXPECT_NE(berth.output.find("c 1:9 rwm\n"), std::string::npos) << berth.output;  // defaults
  EXPECT_EQ(berth.output.find("c 10:229"), std::string::npos) << berth.output;  // denied again
  EXPECT_EQ(berth.output.find("c 5:1 "), std::string::npos) << berth.output;  // no host console
  EXPECT_NE(berth.output.find("\n1\n"), std::string::npos) << berth.output;  // urandom reads
  if (have_runc_) {
    CommandResult runc = RunRunc(b);
    EXPECT_EQ(SortedLines(berth.output), SortedLines(runc.output));
  }
}

TEST_F(BehaviourTest, MemoryLimitOomKills) {
  Bundle b;
  b.config()["linux"]["resources"]["memory"] = {{"limit", 16 << 20}, {"swap", 16 << 20}};
  b.SetArgs({"sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived"});
  CommandResult berth = RunBerth(b);
  EXPECT_EQ(berth.exit_code, 137) << berth.output;
  EXPECT_EQ(berth.output.find("survived"), std::string::npos);
  if (have_runc_) {
    CommandResult runc = RunRunc(b);
    EXPECT_EQ(runc.exit_code, berth.exit_code) << runc.output;
  }
}

TEST_F(BehaviourTest, PidsLimitStopsFork) {
  Bundle b;
  b.config()["linux"]["resources"]["pids"] = {{"limit", 4}};
  b.SetArgs({"sh", "-c", "cat /sys/fs/cgroup/pids/pids.max; for i in 1 2 3 4 5 6; do sleep 1 & done"});
  CommandResult berth = RunBerth(b);
  EXPECT_EQ(berth.output.substr(0, 2), "4\n") << berth.output;
  EXPECT_NE(berth.output.find("can't fork"), std::string::npos) << berth.output;
  if (have_runc_) {
    CommandResult runc = RunRunc(b);
    // stdout (cat) and stderr (sh's fork errors) race each other: compare the lines, not order.
    EXPECT_EQ(SortedLines(berth.output), SortedLines(runc.output));
    EXPECT_EQ(berth.exit_code, runc.exit_code);
  }
}

TEST_F(BehaviourTest, CpuQuotaThrottles) {
  Bundle b;
  b.config()["linux"]["resources"]["cpu"] = {{"quota", 10000}, {"period", 100000}};
  b.config()["process"]["args"] = {"sh", "-c",
                                   "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us; (yes > /dev/null &); "
                                   "sleep 1; grep nr_throttled /sys/fs/cgroup/cpu/cpu.stat"};
  CommandResult berth = RunBerth(b);
  ASSERT_EQ(berth.exit_code, 0) << berth.output;
  EXPECT_EQ(berth.output.substr(0, 6), "10000\n");
  size_t pos = berth.output.find("nr_throttled ");
  ASSERT_NE(pos, std::string::npos) << berth.output;
  EXPECT_NE(berth.output.substr(pos + 13, 2), "0\n") << berth.output;
}

TEST_F(BehaviourTest, LifecycleExecPauseResumeKillDelete) {
  Bundle b;
  b.SetArgs({"sleep", "1000"});
  b.Write();
  std::string pid_file = b.dir() + "/pid";
  CommandResult r = RunDetached(absl::StrCat(berth_, " create -b ", b.dir(), " --pid-file ",
                                             pid_file, " lc"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(RunCommand(berth_ + " state lc").output.find("\"status\": \"created\""),
            std::string::npos);
  std::string stat_state = absl::StrCat("stat -c %i:%Y ", root_.dir(), "/berth/lc/state.json");
  std::string created_file = RunCommand(stat_state).output;
  ASSERT_EQ(RunCommand(berth_ + " start lc").exit_code, 0);
  EXPECT_NE(RunCommand(berth_ + " start lc").exit_code, 0);  // Already running.
  CommandResult st = RunCommand(berth_ + " state lc");
  EXPECT_NE(st.output.find("\"status\": \"running\""), std::string::npos) << st.output;
  // "running" is read from the start socket being gone: start leaves state.json as it was.
  EXPECT_EQ(RunCommand(stat_state).output, created_file);
  std::string pid = std::string(absl::StripAsciiWhitespace(RunCommand("cat " + pid_file).output));

  // exec joins the init's namespaces and cgroups.
  CommandResult ex = RunCommand(berth_ + " exec lc sh -c 'readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt; cat /proc/self/cgroup'");
  ASSERT_EQ(ex.exit_code, 0) << ex.output;
  CommandResult host = RunCommand(absl::StrCat("readlink /proc/", pid, "/ns/pid; readlink /proc/", pid,
                                               "/ns/mnt; cat /proc/", pid, "/cgroup"));
  EXPECT_EQ(ex.output, host.output);
  EXPECT_EQ(RunCommand(berth_ + " exec lc sh -c 'exit 3'").exit_code, 3);
  EXPECT_NE(RunCommand(berth_ + " ps --format json lc").output.find(pid), std::string::npos);

  ASSERT_EQ(RunCommand(berth_ + " pause lc").exit_code, 0);
  EXPECT_NE(RunCommand(berth_ + " state lc").output.find("\"paused\""), std::string::npos);
  EXPECT_EQ(RunCommand("cat /sys/fs/cgroup/freezer/lc/freezer.state").output, "FROZEN\n");
  ASSERT_EQ(RunCommand(berth_ + " resume lc").exit_code, 0);
  EXPECT_NE(RunCommand(berth_ + " state lc").output.find("\"running\""), std::string::npos);

  ASSERT_EQ(RunCommand(berth_ + " update --pids-limit 7 --memory 64m lc").exit_code, 0);
  CommandResult upd = RunCommand(berth_ + " exec lc cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes");
  EXPECT_EQ(upd.output, "7\n67108864\n");

  CommandResult del = RunCommand(berth_ + " delete lc");
  EXPECT_NE(del.exit_code, 0);
  EXPECT_NE(del.output.find("not stopped"), std::string::npos) << del.output;
  ASSERT_EQ(RunCommand(berth_ + " kill lc KILL").exit_code, 0);
  for (int i = 0; i < 100 && RunCommand(berth_ + " state lc").output.find("stopped") == std::string::npos; ++i) {
    usleep(20000);
  }
  EXPECT_NE(RunCommand(berth_ + " state lc").output.find("\"stopped\""), std::string::npos);
  EXPECT_NE(RunCommand(berth_ + " kill lc KILL").exit_code, 0);
  ASSERT_EQ(RunCommand(berth_ + " delete lc").exit_code, 0);
  CommandResult gone = RunCommand(berth_ + " state lc");
  EXPECT_NE(gone.exit_code, 0);
  EXPECT_NE(gone.output.find("does not exist"), std::string::npos);
  EXPECT_FALSE(PathExists("/sys/fs/cgroup/pids/lc"));
}

TEST_F(BehaviourTest, DeleteForceKillsRunningContainer) {
  Bundle b;
  b.SetArgs({"sleep", "1000"});
  ASSERT_EQ(RunDetached(absl::StrCat(berth_, " run -d -b ", (b.Write(), b.dir()), " df")).exit_code, 0);
  EXPECT_NE(RunCommand(berth_ + " state df").output.find("running"), std::string::npos);
  ASSERT_EQ(RunCommand(berth_ + " delete --force df").exit_code, 0);
  EXPECT_NE(RunCommand(berth_ + " state df").exit_code, 0);
  EXPECT_FALSE(PathExists("/sys/fs/cgroup/memory/df"));
}

TEST_F(BehaviourTest, UserNamespaceMatchesRunc) {
  Bundle b;
  b.config()["linux"]["namespaces"].push_back({{"type", "user"}});
  b.config()["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  b.config()["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  b.config()["linux"].erase("resources");
  // sysfs and cgroup mounts need privileges a user namespace does not give over the host.
  nlohmann::json mounts = nlohmann::json::array();
  for (auto& m : b.config()["mounts"]) {
    if (m["destination"] != "/sys" && m["destination"] != "/sys/fs/cgroup") mounts.push_back(m);
  }
  b.config()["mounts"] = mounts;
  b.SetArgs({"sh", "-c", "id; cat /proc/self/uid_map /proc/self/gid_map; ls -n /bin/busybox | cut -c1-30"});
  CommandResult berth = RunBerth(b);
  ASSERT_EQ(berth.exit_code, 0) << berth.output;
  EXPECT_NE(berth.output.find("100000"), std::string::npos) << berth.output;
  if (have_runc_) {
    CommandResult runc = RunRunc(b);
    EXPECT_EQ(berth.output, runc.output);
  }
}

}  // namespace
}  // namespace berth::oci::testing
