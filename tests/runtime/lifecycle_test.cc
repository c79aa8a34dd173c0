// Privileged tests comparing berth-runtime's lifecycle with runc's and crun's (crun in a
// private mount namespace with the cgroup2 mount hidden): the OCI state transitions of
// create/start/kill/delete, exec joining the init's namespaces and cgroups, pause/resume
// freezing every process, and the terminal over a console socket.

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "plugins/base/file_util.h"
#include "runtime/oci/linux/terminal.h"
#include "tests/runtime/bundle_util.h"

namespace berth::oci::testing {
namespace {

enum class Kind { kBerth, kRunc, kCrun };

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    runtimes_.push_back(Kind::kBerth);
    if (HaveBinary("runc")) runtimes_.push_back(Kind::kRunc);
    if (HaveBinary("crun")) runtimes_.push_back(Kind::kCrun);
  }

  // The shell command running `args` under runtime `k` with its own state root.
  std::string Cmd(Kind k, const std::string& args) {
    switch (k) {
      case Kind::kBerth:
        return absl::StrCat(BerthRuntimePath(), " --root ", root_.dir(), "/berth ", args);
      case Kind::kRunc:
        return absl::StrCat("runc --root ", root_.dir(), "/runc ", args);
      case Kind::kCrun:
        return absl::StrCat(
            "unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec crun --root ",
            root_.dir(), "/crun ", absl::StrReplaceAll(args, {{"'", "'\\''"}}), "'");
    }
    return "";
  }
  static const char* Name(Kind k) {
    return k == Kind::kBerth ? "berth-runtime" : k == Kind::kRunc ? "runc" : "crun";
  }

  // "status" from `state`, or "error" when the command fails.
  std::string Status(Kind k, const std::string& id) {
    CommandResult r = RunCommand(Cmd(k, "state " + id));
    if (r.exit_code != 0) return "error";
    nlohmann::json j = nlohmann::json::parse(r.output, nullptr, false);
    return j.is_object() ? j.value("status", "?") : "?";
  }
  pid_t InitPid(Kind k, const std::string& id) {
    std::string state = RunCommand(Cmd(k, "state " + id)).output;
    nlohmann::json j = nlohmann::json::parse(state, nullptr, false);
    return j.is_object() ? j.value("pid", 0) : 0;
  }
  void WaitStopped(Kind k, const std::string& id) {
    for (int i = 0; i < 250 && Status(k, id) != "stopped"; ++i) usleep(20000);
  }
  // A step of a transcript: the command's success and the status that follows.
  std::string Step(Kind k, const std::string& label, const std::string& args,
                   const std::string& id) {
    CommandResult r = RunDetached(Cmd(k, args));
    if (args.rfind("kill", 0) == 0 && r.exit_code == 0) WaitStopped(k, id);
    return absl::StrCat(label, r.exit_code == 0 ? " ok -> " : " refused -> ", Status(k, id),
                        "\n");
  }

  StateRoot root_;
  Bundle bundle_;
  std::vector<Kind> runtimes_;
};

TEST_F(LifecycleTest, StateTransitionsMatchRuncAndCrun) {
  bundle_.SetArgs({"sleep", "1000"});
  bundle_.Write();
  const std::string b = bundle_.dir();
  std::map<Kind, std::string> transcripts;
  for (Kind k : runtimes_) {
    std::string& t = transcripts[k];
    // created -> running -> stopped -> deleted, with the verbs each state refuses.
    t += Step(k, "create", absl::StrCat("create -b ", b, " a"), "a");
    t += Step(k, "start", "start a", "a");
    t += Step(k, "start again", "start a", "a");
    t += Step(k, "delete running", "delete a", "a");
    // (SIGTERM would not do: `sleep` as a pid namespace's init has no handler for it.)
    t += Step(k, "kill", "kill a KILL", "a");
    t += Step(k, "kill stopped", "kill a KILL", "a");
    t += Step(k, "start stopped", "start a", "a");
    t += Step(k, "delete stopped", "delete a", "a");
    t += Step(k, "delete again", "delete a", "a");
    // Kill of a created container stops it.
    t += Step(k, "create", absl::StrCat("create -b ", b, " b"), "b");
    t += Step(k, "kill created", "kill b KILL", "b");
    t += Step(k, "delete", "delete b", "b");
    // delete --force of a running container.
    t += Step(k, "run -d", absl::StrCat("run -d -b ", b, " c"), "c");
    t += Step(k, "delete --force", "delete --force c", "c");
  }
  EXPECT_EQ(transcripts[Kind::kBerth],
            "create ok -> created\nstart ok -> running\nstart again refused -> running\n"
            "delete running refused -> running\nkill ok -> stopped\n"
            "kill stopped refused -> stopped\nstart stopped refused -> stopped\n"
            "delete stopped ok -> error\ndelete again refused -> error\n"
            "create ok -> created\nkill created ok -> stopped\ndelete ok -> error\n"
            "run -d ok -> running\ndelete --force ok -> error\n");
  for (Kind k : runtimes_) {
    EXPECT_EQ(transcripts[Kind::kBerth], transcripts[k]) << Name(k);
  }
}

// An exec'd process is in exactly the init's namespaces and cgroups: compared from inside the
// container (its /proc/self against /proc/1) and, for the namespaces, from the host.
TEST_F(LifecycleTest, ExecJoinsInitNamespacesAndCgroups) {
  bundle_.SetArgs({"sleep", "1000"});
  bundle_.config()["linux"]["namespaces"].push_back({{"type", "cgroup"}});
  bundle_.Write();
  const std::string kNs = "ipc mnt net pid uts user cgroup";
  for (Kind k : runtimes_) {
    SCOPED_TRACE(Name(k));
    ASSERT_EQ(RunDetached(Cmd(k, absl::StrCat("run -d -b ", bundle_.dir(), " ex"))).exit_code, 0);
    pid_t pid = InitPid(k, "ex");
    ASSERT_GT(pid, 0);
    CommandResult ex = RunCommand(Cmd(
        k, absl::StrCat("exec ex sh -c 'for p in self 1; do for n in ", kNs,
                        "; do readlink /proc/$p/ns/$n; done; cat /proc/$p/cgroup; echo =; done'")));
    ASSERT_EQ(ex.exit_code, 0) << ex.output;
    std::vector<std::string> views = absl::StrSplit(ex.output, "=\n");
    ASSERT_EQ(views.size(), 3u) << ex.output;
    EXPECT_EQ(views[0], views[1]);
    CommandResult host = RunCommand(
        absl::StrCat("for n in ", kNs, "; do readlink /proc/", pid, "/ns/$n; done"));
    EXPECT_EQ(views[0].substr(0, host.output.size()), host.output);
    EXPECT_EQ(RunCommand(Cmd(k, "delete -f ex")).exit_code, 0);
  }
}

// The host's cgroup paths of `pid` (`cgroup` file lines), for comparison.
std::string HostCgroups(pid_t pid) {
  return ReadFile(absl::StrCat("/proc/", pid, "/cgroup")).value_or("");
}

TEST_F(LifecycleTest, ExecProcessJoinsInitCgroupsOnTheHost) {
  bundle_.SetArgs({"sleep", "1000"});
  bundle_.Write();
  std::string pid_file = JoinPath(bundle_.dir(), "exec.pid");
  for (Kind k : runtimes_) {
    SCOPED_TRACE(Name(k));
    ASSERT_EQ(RunDetached(Cmd(k, absl::StrCat("run -d -b ", bundle_.dir(), " cg"))).exit_code, 0);
    pid_t init = InitPid(k, "cg");
    ASSERT_EQ(RunDetached(Cmd(k, absl::StrCat("exec -d --pid-file ", pid_file, " cg sleep 999")))
                  .exit_code,
              0);
    pid_t pid = 0;
    std::string pid_text = ReadFile(pid_file).value_or("");
    ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(pid_text), &pid)) << pid_text;
    EXPECT_EQ(HostCgroups(pid), HostCgroups(init));
    EXPECT_EQ(RunCommand(Cmd(k, "delete -f cg")).exit_code, 0);
    unlink(pid_file.c_str());
  }
}

// The spec's "cgroup" mount (no cgroup namespace) holds each v1 hierarchy of the host, bound
// from the container's own cgroup (the init, pid 1 inside, is alone in it) and read-only, as
// runc makes it.
TEST_F(LifecycleTest, CgroupMountHoldsTheContainersOwnHierarchiesLikeRunc) {
  bundle_.SetArgs({"sh", "-c",
                   "ls /sys/fs/cgroup; for d in pids memory cpu; do "
                   "grep -qx 1 /sys/fs/cgroup/$d/cgroup.procs && echo own; done; "
                   "touch /sys/fs/cgroup/pids/x 2>/dev/null || echo read-only"});
  bundle_.Write();
  std::map<Kind, std::string> outputs;
  for (Kind k : runtimes_) {
    if (k == Kind::kCrun) continue;  // crun runs with the host's cgroup2 mount hidden
    CommandResult r = RunCommand(Cmd(k, absl::StrCat("run -b ", bundle_.dir(), " cgm")));
    EXPECT_EQ(r.exit_code, 0) << Name(k) << ": " << r.output;
    outputs[k] = r.output;
    (void)RunCommand(Cmd(k, "delete -f cgm"));
  }
  const std::string& berth = outputs[Kind::kBerth];
  EXPECT_NE(berth.find("pids\n"), std::string::npos) << berth;
  EXPECT_NE(berth.find("memory\n"), std::string::npos) << berth;
  EXPECT_NE(berth.find("own\nown\nown\nread-only\n"), std::string::npos) << berth;
  if (outputs.count(Kind::kRunc) != 0) EXPECT_EQ(berth, outputs[Kind::kRunc]);
}

// Pause freezes every process of the container (a counter stops advancing, the freezer says
// FROZEN), resume thaws them; the states match runc's.
TEST_F(LifecycleTest, PauseFreezesResumeThaws) {
  bundle_.SetArgs({"sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.02; done"});
  bundle_.Write();
  const std::string counter = JoinPath(bundle_.dir(), "rootfs/tmp/n");
  auto count = [&] { return ReadFile(counter).value_or(""); };
  std::map<Kind, std::string> transcripts;
  for (Kind k : runtimes_) {
    if (k == Kind::kCrun) continue;  // crun's freezer needs the cgroup2 mount we hide.
    SCOPED_TRACE(Name(k));
    ASSERT_EQ(RunDetached(Cmd(k, absl::StrCat("run -d -b ", bundle_.dir(), " pz"))).exit_code, 0);
    pid_t pid = InitPid(k, "pz");
    usleep(200000);
    std::string& t = transcripts[k];
    t += Step(k, "pause", "pause pz", "pz");
    std::string before = count();
    usleep(300000);
    EXPECT_EQ(count(), before) << "the container ran while paused";
    std::string freezer;
    for (absl::string_view line : absl::StrSplit(HostCgroups(pid), '\n')) {
      if (line.find(":freezer:") != absl::string_view::npos) {
        freezer = std::string(line.substr(line.find(":freezer:") + 9));
      }
    }
    EXPECT_EQ(ReadFile(absl::StrCat("/sys/fs/cgroup/freezer", freezer, "/freezer.state"))
                  .value_or(""),
              "FROZEN\n");
    t += Step(k, "pause again", "pause pz", "pz");
    t += Step(k, "resume", "resume pz", "pz");
    usleep(300000);
    EXPECT_NE(count(), before) << "the container did not run after resume";
    t += Step(k, "resume again", "resume pz", "pz");
    t += Step(k, "pause", "pause pz", "pz");
    t += Step(k, "delete --force paused", "delete --force pz", "pz");
  }
  EXPECT_EQ(transcripts[Kind::kBerth],
            "pause ok -> paused\npause again refused -> paused\nresume ok -> running\n"
            "resume again refused -> running\npause ok -> paused\n"
            "delete --force paused ok -> error\n");
  for (const auto& [k, t] : transcripts) EXPECT_EQ(transcripts[Kind::kBerth], t) << Name(k);
}

// create --console-socket: the pty master arrives over the socket; the container's stdio is
// the pty (tty, its size from process.consoleSize) and its output comes through the master.
std::string RunWithConsole(const std::string& create_cmd, const std::string& start_cmd,
                           const std::string& sock_path) {
  unlink(sock_path.c_str());
  UniqueFd listener(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, sock_path.c_str(), sizeof(addr.sun_path) - 1);
  if (bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listener.get(), 1) != 0) {
    return "bind failed";
  }
  CommandResult created;
  std::thread create([&] { created = RunDetached(create_cmd); });
  pollfd p{listener.get(), POLLIN, 0};
  absl::StatusOr<UniqueFd> master = absl::UnavailableError("no connection");
  if (poll(&p, 1, 20000) == 1) {
    UniqueFd conn(accept(listener.get(), nullptr, nullptr));
    master = RecvFd(conn.get());
  }
  create.join();
  if (created.exit_code != 0) return "create failed: " + created.output;
  if (!master.ok()) return std::string(master.status().message());
  CommandResult started = RunCommand(start_cmd);
  if (started.exit_code != 0) return "start failed: " + started.output;
  std::string output;
  char buf[256];
  ssize_t n;
  while ((n = read(master->get(), buf, sizeof(buf))) > 0) output.append(buf, n);
  return output;
}

TEST_F(LifecycleTest, TerminalOverConsoleSocketMatchesRuncAndCrun) {
  bundle_.config()["process"]["terminal"] = true;
  bundle_.config()["process"]["consoleSize"] = {{"height", 30}, {"width", 100}};
  bundle_.SetArgs({"sh", "-c", "tty; stty size; readlink /proc/self/fd/0; echo out"});
  bundle_.Write();
  std::string sock = JoinPath(bundle_.dir(), "console.sock");
  std::map<Kind, std::string> outputs;
  for (Kind k : runtimes_) {
    outputs[k] = RunWithConsole(
        Cmd(k, absl::StrCat("create -b ", bundle_.dir(), " --console-socket ", sock, " tty")),
        Cmd(k, "start tty"), sock);
    WaitStopped(k, "tty");
    EXPECT_EQ(RunCommand(Cmd(k, "delete tty")).exit_code, 0) << Name(k);
  }
  EXPECT_EQ(outputs[Kind::kBerth], "/dev/pts/0\r\n30 100\r\n/dev/pts/0\r\nout\r\n");
  for (const auto& [k, out] : outputs) EXPECT_EQ(outputs[Kind::kBerth], out) << Name(k);
}

}  // namespace
}  // namespace berth::oci::testing
