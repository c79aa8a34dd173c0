// Privileged tests: only the fds meant for the container reach it, and a host directory fd
// open in the runtime cannot become the container's cwd or executable through
// /proc/self/fd/N (the CVE-2024-21626 class). The host directory holds a marker file that
// must never show up in the container's output.

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "plugins/base/file_util.h"
#include "tests/runtime/bundle_util.h"

namespace berth::oci::testing {
namespace {

class FdEscapeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    berth_ = absl::StrCat(BerthRuntimePath(), " --root ", root_.dir(), "/berth");
    ASSERT_TRUE(WriteFileAtomic(JoinPath(host_.dir(), "HOST-MARKER"), "x").ok());
    ASSERT_TRUE(WriteFileAtomic(JoinPath(host_.dir(), "id"), "#!/bin/sh\necho HOST-MARKER\n").ok());
    chmod(JoinPath(host_.dir(), "id").c_str(), 0755);
    // fd 7 of every runtime command is the host directory.
    host_fd_ = absl::StrCat(" 7<", host_.dir(), " </dev/null");
  }

  // Runs the bundle with `cwd` and `args`; asserts it fails without reaching the host.
  void ExpectRunRefused(const std::string& cwd, const std::vector<std::string>& args,
                        const std::string& flags = "") {
    bundle_.config()["process"]["cwd"] = cwd;
    bundle_.SetArgs(args);
    bundle_.Write();
    CommandResult r = RunCommand(absl::StrCat(berth_, " run ", flags, " -b ", bundle_.dir(),
                                              " fdx", host_fd_));
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output.find("HOST-MARKER"), std::string::npos) << r.output;
    EXPECT_FALSE(PathExists(JoinPath(root_.dir(), "berth/fdx")));
  }

  StateRoot root_, host_;
  Bundle bundle_;
  std::string berth_, host_fd_;
};

TEST_F(FdEscapeTest, InitCannotReachAHostFd) {
  ExpectRunRefused("/proc/self/fd/7", {"sh", "-c", "ls; ls ..; ls /proc/self/cwd/"});
  ExpectRunRefused("/", {"/proc/self/fd/7/id"});
  // Even a deliberately preserved fd cannot become the cwd: the kernel reports it outside the
  // root, and the runtime refuses it by name.
  bundle_.config()["process"]["cwd"] = "/proc/self/fd/7";
  bundle_.SetArgs({"ls"});
  bundle_.Write();
  CommandResult r = RunCommand(absl::StrCat(berth_, " run --preserve-fds 5 -b ", bundle_.dir(),
                                            " fdx", host_fd_));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("process.cwd `/proc/self/fd/7` is outside the container's root"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(PathExists(JoinPath(root_.dir(), "berth/fdx")));
}

TEST_F(FdEscapeTest, ExecCannotReachAHostFd) {
  bundle_.SetArgs({"sleep", "1000"});
  bundle_.Write();
  ASSERT_EQ(RunDetached(absl::StrCat(berth_, " run -d -b ", bundle_.dir(), " fdx")).exit_code, 0);
  for (const std::string& args :
       {std::string("--cwd /proc/self/fd/7 fdx sh -c 'ls; ls ..'"),
        std::string("fdx /proc/self/fd/7/id"),
        std::string("--preserve-fds 5 --cwd /proc/self/fd/7 fdx ls")}) {
    CommandResult r = RunCommand(absl::StrCat(berth_, " exec ", args, host_fd_));
    EXPECT_NE(r.exit_code, 0) << args << ": " << r.output;
    EXPECT_EQ(r.output.find("HOST-MARKER"), std::string::npos) << args << ": " << r.output;
  }
  EXPECT_EQ(RunCommand(berth_ + " delete -f fdx").exit_code, 0);
}

// The container gets stdio and the --preserve-fds ones, nothing else the runtime had open;
// the same as runc.
TEST_F(FdEscapeTest, OnlyIntendedFdsReachTheContainer) {
  bundle_.SetArgs({"sh", "-c", "ls /proc/self/fd | tr '\\n' ' '"});
  bundle_.Write();
  std::string fds = absl::StrCat(" 3</etc/hostname 5</etc/passwd", host_fd_);
  std::string plain = absl::StrCat(" run -b ", bundle_.dir(), " fds", fds);
  std::string preserve = absl::StrCat(" run --preserve-fds 1 -b ", bundle_.dir(), " fds", fds);
  CommandResult berth = RunCommand(berth_ + plain);
  CommandResult berth_preserved = RunCommand(berth_ + preserve);
  EXPECT_EQ(berth.output, "0 1 2 3 ");  // 3: ls's own directory fd.
  EXPECT_EQ(berth_preserved.output, "0 1 2 3 4 ");
  if (HaveBinary("runc")) {
    std::string runc = absl::StrCat("runc --root ", root_.dir(), "/runc");
    EXPECT_EQ(berth.output, RunCommand(runc + plain).output);
    EXPECT_EQ(berth_preserved.output, RunCommand(runc + preserve).output);
  }
}

}  // namespace
}  // namespace berth::oci::testing
