// Privileged integration test: containerd 1.6 on a temp socket runs containers through
// containerd-shim-runc-v2 with berth-runtime as its runc binary (`ctr run --runc-binary`, the
// runc option BinaryName). Skipped when containerd, ctr or the shim is not installed.

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "plugins/base/file_util.h"
#include "tests/runtime/bundle_util.h"

namespace berth::oci::testing {
namespace {

class ContainerdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    for (const char* bin : {"containerd", "ctr", "containerd-shim-runc-v2"}) {
      if (!HaveBinary(bin)) GTEST_SKIP() << bin << " not installed";
    }
    std::string config = absl::StrCat(
        "version = 2\nroot = \"", dir_.dir(), "/root\"\nstate = \"", dir_.dir(),
        "/state\"\n[grpc]\n  address = \"", dir_.dir(), "/containerd.sock\"\n[ttrpc]\n  address = \"",
        dir_.dir(), "/ttrpc.sock\"\n");
    ASSERT_TRUE(WriteFileAtomic(dir_.dir() + "/config.toml", config).ok());
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      std::string log = dir_.dir() + "/containerd.log";
      freopen(log.c_str(), "w", stdout);
      freopen(log.c_str(), "w", stderr);
      std::string cfg = dir_.dir() + "/config.toml";
      execlp("containerd", "containerd", "--config", cfg.c_str(), nullptr);
      _exit(127);
    }
    for (int i = 0; i < 200 && !PathExists(dir_.dir() + "/containerd.sock"); ++i) usleep(50000);
    ASSERT_TRUE(PathExists(dir_.dir() + "/containerd.sock")) << "containerd did not start";
    ctr_ = absl::StrCat("ctr -a ", dir_.dir(), "/containerd.sock -n berth-oci-test");
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    // The shim's cgroupsPath is /<namespace>/<id>: the runtime removes the leaf, the namespace
    // level is the caller's (as with runc).
    RunCommand("rmdir /sys/fs/cgroup/*/berth-oci-test");
  }

  std::string Run(const std::string& args) {
    return absl::StrCat(ctr_, " run --rootfs --runc-binary ", BerthRuntimePath(), " ", args);
  }

  StateRoot dir_;
  Bundle bundle_;
  pid_t pid_ = -1;
  std::string ctr_;
};

TEST_F(ContainerdTest, ShimRunsContainerWithBerthRuntime) {
  std::string rootfs = bundle_.dir() + "/rootfs";
  CommandResult r = RunCommand(absl::StrCat(
      "timeout 60 ", Run(absl::StrCat("--rm ", rootfs, " c1 /bin/sh -c 'echo hello; exit 3'"))));
  EXPECT_EQ(r.output, "hello\n");
  EXPECT_EQ(r.exit_code, 3);

  r = RunDetached(absl::StrCat("timeout 60 ", Run(absl::StrCat("-d ", rootfs, " c2 /bin/sleep 100"))));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunCommand(absl::StrCat("timeout 60 ", ctr_, " task exec --exec-id e1 c2 sh -c 'echo exec; exit 4'"));
  EXPECT_EQ(r.output, "exec\n");
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(RunCommand(absl::StrCat("timeout 30 ", ctr_, " task pause c2")).exit_code, 0);
  EXPECT_NE(RunCommand(ctr_ + " task ls").output.find("PAUSED"), std::string::npos);
  EXPECT_EQ(RunCommand(absl::StrCat("timeout 30 ", ctr_, " task resume c2")).exit_code, 0);
  EXPECT_EQ(RunCommand(absl::StrCat("timeout 30 ", ctr_, " task kill -s KILL c2")).exit_code, 0);
  for (int i = 0; i < 100 && RunCommand(ctr_ + " task ls").output.find("STOPPED") == std::string::npos; ++i) {
    usleep(50000);
  }
  EXPECT_EQ(RunCommand(absl::StrCat("timeout 30 ", ctr_, " task delete c2")).exit_code, 0);
  EXPECT_EQ(RunCommand(absl::StrCat("timeout 30 ", ctr_, " container rm c2")).exit_code, 0);
}

}  // namespace
}  // namespace berth::oci::testing
