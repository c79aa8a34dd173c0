// Privileged tests of failures and of the console socket: a clear error and nothing left
// behind (no state directory, cgroup, mount or process).

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "plugins/base/file_util.h"
#include "runtime/oci/linux/terminal.h"
#include "tests/runtime/bundle_util.h"

namespace berth::oci::testing {
namespace {

class ErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    berth_ = absl::StrCat(BerthRuntimePath(), " --root ", root_.dir());
  }

  // Runs `verb` on the bundle and checks the error names `expected` and nothing remains.
  void ExpectCleanFailure(Bundle& b, const std::string& verb, const std::string& expected) {
    b.Write();
    const std::string id = "err";
    CommandResult r = RunDetached(absl::StrCat(berth_, " ", verb, " -b ", b.dir(), " ", id));
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find(expected), std::string::npos) << r.output;
    EXPECT_FALSE(PathExists(JoinPath(root_.dir(), id))) << "state directory left behind";
    for (const char* c : {"memory", "pids", "cpu", "freezer", "unified"}) {
      EXPECT_FALSE(PathExists(absl::StrCat("/sys/fs/cgroup/", c, "/", id))) << c;
    }
    EXPECT_EQ(RunCommand(absl::StrCat("grep -c ", b.dir(), " /proc/self/mountinfo")).output, "0\n");
    EXPECT_EQ(RunCommand(absl::StrCat("pgrep -f 'sleep [4]242' | wc -l")).output, "0\n");
  }

  StateRoot root_;
  std::string berth_;
};

TEST_F(ErrorsTest, InvalidConfig) {
  Bundle b;
  b.config()["process"]["args"] = "sleep 4242";
  ExpectCleanFailure(b, "run", "process.args");
  ExpectCleanFailure(b, "create", "process.args");
}

TEST_F(ErrorsTest, MissingRootfs) {
  Bundle b;
  b.config()["root"]["path"] = "nonexistent";
  ExpectCleanFailure(b, "create", "does not exist");
}

TEST_F(ErrorsTest, BadSeccompRule) {
  Bundle b;
  b.SetArgs({"sleep", "4242"});
  b.config()["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"syscalls", {{{"names", {"mkdir"}}, {"action", "SCMP_ACT_BOGUS"}}}}};
  ExpectCleanFailure(b, "create", "SCMP_ACT_BOGUS");
  b.config()["linux"]["seccomp"]["syscalls"][0] = {
      {"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"},
      {"args", {{{"index", 0}, {"value", 1}, {"op", "SCMP_CMP_BOGUS"}}}}};
  ExpectCleanFailure(b, "create", "SCMP_CMP_BOGUS");
}

TEST_F(ErrorsTest, NonexistentCgroupController) {
  Bundle b;
  b.SetArgs({"sleep", "4242"});
  b.config()["linux"]["resources"]["unified"] = {{"bogus.max", "1"}};
  ExpectCleanFailure(b, "create", "bogus.max");
  b.config()["linux"]["resources"].erase("unified");
  b.config()["linux"]["resources"]["hugepageLimits"] = {{{"pageSize", "3MB"}, {"limit", 1}}};
  ExpectCleanFailure(b, "create", "hugetlb.3MB");
}

TEST_F(ErrorsTest, MissingExecutableFailsAtStartOfRun) {
  Bundle b;
  b.SetArgs({"/nonexistent"});
  ExpectCleanFailure(b, "run", "/nonexistent");
}

TEST_F(ErrorsTest, FailedMountLeavesNothing) {
  Bundle b;
  b.config()["mounts"].push_back({{"destination", "/data"}, {"type", "bind"},
                                  {"source", "/nonexistent-source"}, {"options", {"rbind"}}});
  b.SetArgs({"sleep", "4242"});
  ExpectCleanFailure(b, "create", "nonexistent-source");
}

TEST_F(ErrorsTest, DuplicateIdIsRejected) {
  Bundle b;
  b.SetArgs({"sleep", "4242"});
  b.Write();
  ASSERT_EQ(RunDetached(absl::StrCat(berth_, " create -b ", b.dir(), " dup")).exit_code, 0);
  CommandResult r = RunDetached(absl::StrCat(berth_, " create -b ", b.dir(), " dup"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("already exists"), std::string::npos) << r.output;
  EXPECT_EQ(RunCommand(berth_ + " delete dup").exit_code, 0);
  EXPECT_FALSE(PathExists(JoinPath(root_.dir(), "dup")));
}

TEST_F(ErrorsTest, TerminalOverConsoleSocket) {
  Bundle b;
  b.config()["process"]["terminal"] = true;
  b.SetArgs({"sh", "-c", "tty; echo out"});
  b.Write();
  std::string sock_path = JoinPath(b.dir(), "console.sock");
  int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, sock_path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  CommandResult created;
  std::thread create([&] {
    created = RunDetached(absl::StrCat(berth_, " create -b ", b.dir(), " --console-socket ",
                                       sock_path, " tty"));
  });
  int conn = accept(listener, nullptr, nullptr);
  ASSERT_GE(conn, 0);
  absl::StatusOr<UniqueFd> master = RecvFd(conn);
  create.join();
  close(conn);
  close(listener);
  ASSERT_TRUE(master.ok()) << master.status();
  ASSERT_EQ(created.exit_code, 0) << created.output;
  ASSERT_EQ(RunCommand(berth_ + " start tty").exit_code, 0);
  std::string output;
  char buf[256];
  ssize_t n;
  while ((n = read(master->get(), buf, sizeof(buf))) > 0) output.append(buf, n);
  EXPECT_NE(output.find("/dev/pts/0"), std::string::npos) << output;
  EXPECT_NE(output.find("out"), std::string::npos) << output;
  for (int i = 0; i < 100 && RunCommand(berth_ + " state tty").output.find("stopped") == std::string::npos; ++i) {
    usleep(20000);
  }
  EXPECT_EQ(RunCommand(berth_ + " delete tty").exit_code, 0);
}

TEST_F(ErrorsTest, TerminalWithoutConsoleSocketIsAnError) {
  Bundle b;
  b.config()["process"]["terminal"] = true;
  ExpectCleanFailure(b, "create", "console-socket");
}

}  // namespace
}  // namespace berth::oci::testing
