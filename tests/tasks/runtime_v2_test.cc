// Unit tests of the daemon-side runtime pieces that need no shim: start output parsing, shim
// binary names, bundles, and the one-shot command runner.

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "runtime/v2/bundle.h"
#include "runtime/v2/child_process.h"
#include "runtime/v2/shim_binary.h"

namespace berth::runtime_v2 {
namespace {

TEST(ParseStartOutputTest, PlainJsonAndErrors) {
  EXPECT_EQ(*ParseStartOutput("unix:///run/containerd/s/abc\n"), "unix:///run/containerd/s/abc");
  EXPECT_EQ(*ParseStartOutput(R"({"version":3,"address":"unix:///x","protocol":"ttrpc"})"),
            "unix:///x");
  EXPECT_EQ(*ParseStartOutput(R"({"version":2,"address":"unix:///y"})"), "unix:///y");
  EXPECT_EQ(ParseStartOutput(R"({"version":3,"address":"unix:///x","protocol":"grpc"})")
                .status()
                .code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_FALSE(ParseStartOutput(R"({"version":9,"address":"unix:///x"})").ok());
  EXPECT_FALSE(ParseStartOutput("").ok());
  EXPECT_FALSE(ParseStartOutput("time=x level=error msg=boom").ok());
}

TEST(ShimBinaryTest, NamesFollowContainerdsRule) {
  EXPECT_EQ(ShimBinaryNames("io.containerd.runc.v2"),
            (std::vector<std::string>{"containerd-shim-runc-v2"}));
  EXPECT_EQ(ShimBinaryNames("io.containerd.berth.v1").front(), "berth-shim");
  EXPECT_TRUE(ShimBinaryNames("runc").empty());
  EXPECT_EQ(ResolveShimBinary("io.containerd.nosuch.v9").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ResolveShimBinary("/bin/true").value_or(""), "/bin/true");
}

TEST(BundleTest, CreateWritesSpecVerbatimAndDeleteRemovesEverything) {
  char tmpl[] = "/tmp/berth-bundle-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string state = absl::StrCat(tmpl, "/state"), root = absl::StrCat(tmpl, "/root");
  auto bundle = Bundle::Create(state, root, "ns1", "c1", R"({"ociVersion":"1.0.2"})");
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  char buf[64] = {};
  ASSERT_GT(readlink(bundle->File("work").c_str(), buf, sizeof(buf) - 1), 0);
  EXPECT_EQ(std::string(buf), absl::StrCat(root, "/ns1/c1"));
  struct stat st;
  ASSERT_EQ(stat(bundle->File("rootfs").c_str(), &st), 0);
  EXPECT_EQ(Bundle::Create(state, root, "ns1", "c1", "{}").status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Bundle::Create(state, root, "ns1", "bad/id", "{}").status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(bundle->Delete().ok());
  EXPECT_NE(access(bundle->path().c_str(), F_OK), 0);
  EXPECT_NE(access(bundle->work_dir().c_str(), F_OK), 0);
  rmdir(absl::StrCat(root, "/ns1").c_str());
  rmdir(absl::StrCat(state, "/ns1").c_str());
  rmdir(root.c_str());
  rmdir(state.c_str());
  rmdir(tmpl);
}

TEST(RunCommandTest, StdinStdoutStderrCwdEnvAndTimeout) {
  auto out = RunCommand({.argv = {"/bin/sh", "-c", "cat; pwd; echo $BERTH_X >&2; exit 3"},
                         .cwd = "/tmp",
                         .env = {"BERTH_X=42"},
                         .stdin_data = "in:"});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->out, "in:/tmp\n");
  EXPECT_EQ(out->err, "42\n");
  EXPECT_EQ(out->Describe(), "exit status 3");
  auto slow = RunCommand({.argv = {"/bin/sleep", "10"}, .timeout = absl::Milliseconds(200)});
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kDeadlineExceeded);
  // A daemon left behind holding stdout does not make us wait for it.
  absl::Time start = absl::Now();
  auto daemonized = RunCommand({.argv = {"/bin/sh", "-c", "echo addr; (sleep 3 &)"}});
  ASSERT_TRUE(daemonized.ok());
  EXPECT_EQ(daemonized->out, "addr\n");
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST(RunCommandTest, ChildLeadsItsOwnGroupWithDefaultSignalsAndBadPathsFail) {
  // The daemon ignores SIGPIPE and blocks signals in its threads; the shim must see neither.
  // Field 5 of /proc/<pid>/stat is the process group; SigIgn/SigBlk are hex masks, bit n-1 for
  // signal n.
  struct sigaction ignore = {}, old_action;
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGPIPE, &ignore, &old_action), 0);
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &block, &old_mask);
  auto out = RunCommand({.argv = {"/bin/sh", "-c",
                                  "read -r pid comm state ppid pgrp rest </proc/$$/stat; "
                                  "[ \"$pid\" = \"$pgrp\" ] && echo own-group; "
                                  "sed -n 's/^Sig\\(Blk\\|Ign\\):\\t*//p' /proc/$$/status"}});
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  sigaction(SIGPIPE, &old_action, nullptr);
  ASSERT_TRUE(out.ok()) << out.status();
  std::vector<std::string> lines = absl::StrSplit(out->out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << out->out;
  EXPECT_EQ(lines[0], "own-group");
  uint64_t blocked = std::stoull(lines[1], nullptr, 16), ignored = std::stoull(lines[2], nullptr, 16);
  EXPECT_EQ(blocked, 0u) << out->out;
  EXPECT_EQ(ignored & (uint64_t{1} << (SIGPIPE - 1)), 0u) << out->out;

  EXPECT_FALSE(RunCommand({.argv = {"/nonexistent/shim", "start"}}).ok());
  EXPECT_FALSE(RunCommand({.argv = {"/bin/true"}, .cwd = "/nonexistent/bundle"}).ok());
}

}  // namespace
}  // namespace berth::runtime_v2
