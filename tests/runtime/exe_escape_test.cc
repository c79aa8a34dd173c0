// Privileged tests of the /proc/self/exe class of escapes (CVE-2019-5736): a container whose
// image makes the runtime exec /proc/self/exe (here a symlink; a `#!/proc/self/exe` script
// resolves the same magic link) gets the runtime binary running inside it; a container
// process then opens /proc/<pid>/exe and writes through it, now or once that process has
// exited. The runtime under test is a COPY of berth-runtime, so a hole corrupts only the copy;
// the test asserts the copy is unchanged. Without the sealed re-exec all three tests fail.

#include <sys/stat.h>
#include <unistd.h>

#include <functional>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "plugins/base/file_util.h"
#include "tests/runtime/bundle_util.h"

namespace berth::oci::testing {
namespace {

class ExeEscapeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    copy_ = JoinPath(bin_.dir(), "berth-runtime");
    ASSERT_EQ(RunCommand(absl::StrCat("cp ", BerthRuntimePath(), " ", copy_)).exit_code, 0);
    absl::StatusOr<std::string> bytes = ReadFile(copy_);
    ASSERT_TRUE(bytes.ok());
    original_ = *bytes;
    rt_ = absl::StrCat(copy_, " --root ", root_.dir());
    fifo_ = JoinPath(bundle_.dir(), "stdin.fifo");
    ASSERT_EQ(mkfifo(fifo_.c_str(), 0600), 0);
    std::string rootfs = JoinPath(bundle_.dir(), "rootfs");
    ASSERT_EQ(symlink("/proc/self/exe", JoinPath(rootfs, "bin/evil").c_str()), 0);
    for (const char* applet : {"pidof", "kill"}) {
      (void)!symlink("busybox", JoinPath(rootfs, absl::StrCat("bin/", applet)).c_str());
    }
    // A real image has a dynamic loader and libc, which the runtime binary needs to run.
    std::string copy_libs = absl::StrCat("for f in $(ldd ", copy_, " | grep -o '/[^ ]*'); do ",
                                         "mkdir -p ", rootfs, "$(dirname $f) && cp -L $f ",
                                         rootfs, "$f; done");
    ASSERT_EQ(RunCommand(copy_libs).exit_code, 0);
  }

  void TearDown() override {
    RunCommand(absl::StrCat(rt_, " delete -f esc"));
    absl::StatusOr<std::string> now = ReadFile(copy_);
    ASSERT_TRUE(now.ok());
    EXPECT_TRUE(*now == original_) << "the runtime binary was modified from the container";
  }

  // Runs the attack, as root in container `esc`, from a detached exec so that no runtime CLI
  // is still executing the binary when it writes: `prepare` (keeps fd 3 on a runtime binary),
  // then `between` on the host, then `finish` (writes through fd 3). Returns what it printed.
  std::string Attack(const std::string& prepare, const std::string& finish,
                     const std::function<void()>& between = [] {}) {
    std::string out = JoinPath(bundle_.dir(), "rootfs/tmp/out");
    CommandResult r = RunCommand(absl::StrCat(
        rt_, " exec -d --cap CAP_SYS_PTRACE esc sh -c '", prepare, "; echo ready; ",
        "while [ ! -e /tmp/go ]; do sleep 0.05; done; sleep 0.3; ", finish,
        "; echo attack-done' >", out, " 2>&1 </dev/null"));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::string text;
    for (int i = 0; i < 250 && text.find("ready") == std::string::npos; ++i) {
      usleep(20000);
      text = ReadFile(out).value_or("");
    }
    between();
    EXPECT_TRUE(WriteFileAtomic(JoinPath(bundle_.dir(), "rootfs/tmp/go"), "").ok());
    for (int i = 0; i < 250 && text.find("attack-done") == std::string::npos; ++i) {
      usleep(20000);
      text = ReadFile(out).value_or("");
    }
    EXPECT_NE(text.find("attack-done"), std::string::npos) << text;
    EXPECT_EQ(text.find("WROTE"), std::string::npos) << text;
    return text;
  }

  StateRoot bin_, root_;
  Bundle bundle_;
  std::string copy_, original_, rt_, fifo_;
};

// `exec` of a symlink to /proc/self/exe (docker exec of a planted binary). The exec'd runtime
// blocks reading its stdin (a FIFO it holds both ends of) while the attacker opens its exe,
// tries to write it, kills it and writes again once it is gone.
TEST_F(ExeEscapeTest, ExecOfProcSelfExeCannotWriteTheRuntime) {
  bundle_.SetArgs({"sleep", "1000"});
  bundle_.Write();
  ASSERT_EQ(RunDetached(absl::StrCat(rt_, " run -d -b ", bundle_.dir(), " esc")).exit_code, 0);
  CommandResult ex = RunCommand(absl::StrCat(rt_, " exec -d esc /bin/evil update -r - x <>",
                                             fifo_, " >/dev/null"));
  ASSERT_EQ(ex.exit_code, 0) << ex.output;
  std::string out = Attack(
      "pid=$(pidof evil); echo pid=$pid; exec 3</proc/$pid/exe && echo OPENED; "
      "echo pwned >> /proc/$pid/exe && echo WROTE-WHILE-RUNNING; kill -9 $pid",
      "echo pwned >> /proc/self/fd/3 && echo WROTE-AFTER-EXIT");
  EXPECT_NE(out.find("OPENED"), std::string::npos) << "the attack did not find its target: " << out;
}

// The init exec'ing /proc/self/exe (the original CVE-2019-5736 entrypoint). Nothing in the
// container outlives its init, so what must hold is that the write is refused for a reason
// that outlasts the process (a read-only or sealed file), not merely "Text file busy".
TEST_F(ExeEscapeTest, InitOfProcSelfExeCannotWriteTheRuntime) {
  bundle_.SetArgs({"/bin/evil", "update", "-r", "-", "x"});
  bundle_.Write();
  CommandResult r = RunCommand(absl::StrCat(rt_, " run -d -b ", bundle_.dir(), " esc <>", fifo_,
                                            " >/dev/null 2>&1"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string out = Attack(
      "exec 3</proc/1/exe && echo OPENED",
      "echo pwned >> /proc/self/fd/3 && echo WROTE-FD; echo pwned >> /proc/1/exe && echo WROTE");
  EXPECT_NE(out.find("OPENED"), std::string::npos) << out;
  EXPECT_EQ(out.find("Text file busy"), std::string::npos) << out;
}

// A created container's init is the runtime itself, waiting for `start`. An exec'd process
// holding CAP_SYS_PTRACE (which passes the non-dumpable check) keeps an fd on /proc/1/exe and
// writes through it once `start` has replaced the init with the container's process.
TEST_F(ExeEscapeTest, CreatedInitCannotBeWrittenAfterStart) {
  bundle_.SetArgs({"sleep", "1000"});
  bundle_.Write();
  ASSERT_EQ(RunDetached(absl::StrCat(rt_, " create -b ", bundle_.dir(), " esc")).exit_code, 0);
  Attack("exec 3</proc/1/exe && echo OPENED", "echo pwned >> /proc/self/fd/3 && echo WROTE-FD",
         [&] { EXPECT_EQ(RunCommand(rt_ + " start esc").exit_code, 0); });
}

}  // namespace
}  // namespace berth::oci::testing
