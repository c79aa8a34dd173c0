// berthctl run -t in a real terminal (a tmux pane): the shell's prompt, typed input, output,
// and `exit` ending the session with the shell's code.

#include <chrono>
#include <thread>

#include "tests/ctl_tasks/ctl_fixture.h"

namespace berth::ctl_test {
namespace {

class CtlTtyTest : public CtlTasksTest {
 protected:
  void TearDown() override {
    if (!session_.empty()) (void)testutil::RunCommand({"tmux", "kill-session", "-t", session_});
    CtlTasksTest::TearDown();
  }
  CommandResult Tmux(std::vector<std::string> args) {
    args.insert(args.begin(), "tmux");
    auto result = testutil::RunCommand(args);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : CommandResult{};
  }
  // Polls the pane until it shows `text` (10 s).
  bool PaneShows(const std::string& text) {
    for (int i = 0; i < 100; ++i) {
      if (Tmux({"capture-pane", "-p", "-t", session_}).out.find(text) != std::string::npos) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  std::string session_;
};

TEST_F(CtlTtyTest, InteractiveShellInTmux) {
  if (access("/usr/bin/tmux", X_OK) != 0) GTEST_SKIP() << "tmux is not installed";
  session_ = absl::StrCat("berth-ctl-", getpid());
  std::string command;
  for (const std::string& arg :
       CtlArgv({"run", "--rm", "-it", "--name", "tty", "busybox", "sh"})) {
    absl::StrAppend(&command, "'", arg, "' ");
  }
  absl::StrAppend(&command, "; echo berthctl-exit-$?; sleep 60");
  ASSERT_EQ(Tmux({"new-session", "-d", "-s", session_, "-x", "120", "-y", "30", command})
                .exit_code, 0);
  ASSERT_TRUE(PaneShows("/ #")) << Tmux({"capture-pane", "-p", "-t", session_}).out
                               << daemon_->ReadLog();
  Tmux({"send-keys", "-t", session_, "echo $((6*7))", "Enter"});
  EXPECT_TRUE(PaneShows("\n42")) << Tmux({"capture-pane", "-p", "-t", session_}).out;
  // The terminal size reached the pty.
  Tmux({"send-keys", "-t", session_, "stty size", "Enter"});
  EXPECT_TRUE(PaneShows("30 120")) << Tmux({"capture-pane", "-p", "-t", session_}).out;
  // SIGWINCH becomes a ResizePty.
  Tmux({"resize-window", "-t", session_, "-x", "100", "-y", "20"});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Tmux({"send-keys", "-t", session_, "clear; stty size", "Enter"});
  EXPECT_TRUE(PaneShows("20 100")) << Tmux({"capture-pane", "-p", "-t", session_}).out;
  Tmux({"send-keys", "-t", session_, "exit 6", "Enter"});
  EXPECT_TRUE(PaneShows("berthctl-exit-6")) << Tmux({"capture-pane", "-p", "-t", session_}).out;
}

}  // namespace
}  // namespace berth::ctl_test
