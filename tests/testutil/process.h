#pragma once

// Child processes for tests: run a command to completion with a timeout (RunCommand), or keep
// one running in the background while the test reads its output (BackgroundProcess).
//
// Children are started with fork+exec. Between the two the child only calls async-signal-safe
// functions, so this is safe from a multi-threaded test. Every child gets
// PR_SET_PDEATHSIG(SIGKILL): if the test binary dies, its children die with it. (The death
// signal follows the *thread* that started the child, so start long-lived children from the
// test's main thread.) Processes are only ever signalled by their own PID.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::testutil {

struct CommandResult {
  int exit_code = -1;      // the exit status, or -1 if the child did not exit normally
  int term_signal = 0;     // the signal that ended the child, if any
  bool timed_out = false;  // killed by RunCommand after the timeout
  std::string out;         // everything written to stdout
  std::string err;         // everything written to stderr

  bool ok() const { return exit_code == 0; }
  // One line for assertion messages: argv, how it ended, and both streams.
  std::string Describe() const;
  std::string argv_text;  // the command line, for Describe()
};

struct RunOptions {
  std::optional<std::string> stdin_data;  // nullopt: stdin is /dev/null
  std::chrono::milliseconds timeout = std::chrono::seconds(30);
  // Extra environment entries ("KEY=value"), added to (or replacing in) the test's environment.
  std::vector<std::string> env;
};

// Runs argv[0] (looked up in PATH if it has no '/') and waits for it, killing it (SIGKILL, by
// PID) after `options.timeout`. Fails only if the process cannot be started.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const RunOptions& options = {});

// Debian's ctr against the daemon at `address`, namespace `ns`, with `args`: 30 s timeout and
// CONTAINERD_ADDRESS/NAMESPACE cleared, so the test's environment cannot redirect it. A ctr
// that cannot be started at all fails the test and gives an empty result.
CommandResult RunCtr(const std::string& address, const std::string& ns,
                     const std::vector<std::string>& args);

// A child that runs while the test goes on. Its stdout and stderr are read by a thread into
// buffers the test can wait on. The destructor kills it (SIGKILL) if it still runs and reaps it.
class BackgroundProcess {
 public:
  static absl::StatusOr<std::unique_ptr<BackgroundProcess>> Start(
      const std::vector<std::string>& argv, const std::vector<std::string>& env = {});
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Waits until stdout contains `text`, the child closes its output, or `timeout` passes.
  bool WaitForStdout(const std::string& text, std::chrono::milliseconds timeout);
  // Waits until stdout or stderr has any output at all (or EOF, or timeout).
  bool WaitForAnyOutput(std::chrono::milliseconds timeout);
  std::string Stdout() const;
  std::string Stderr() const;

  // Sends `signal` and, unless `wait` is false, reaps the child (SIGKILL after `grace`).
  // Returns the child's wait status (or -1 if it was already reaped).
  int Kill(int signal, bool wait = true,
           std::chrono::milliseconds grace = std::chrono::seconds(10));
  // Whether the child is still running (reaps it if it has exited).
  bool Running();

 private:
  BackgroundProcess(pid_t pid, int out_fd, int err_fd);
  void ReadLoop(int out_fd, int err_fd);

  pid_t pid_;
  bool reaped_ = false;
  int wait_status_ = -1;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string out_, err_;
  bool eof_ = false;
  int wake_fd_[2] = {-1, -1};  // closing [1] tells the reader thread to stop
  std::thread reader_;
};

// Spawns argv with the given fds as the child's stdin/stdout/stderr (-1: /dev/null). Exposed
// for TestDaemon. The fds are not closed here.
absl::StatusOr<pid_t> SpawnProcess(const std::vector<std::string>& argv, int stdin_fd,
                                   int stdout_fd, int stderr_fd,
                                   const std::vector<std::string>& env = {});

// Waits up to `timeout` for `pid` to exit; returns its wait status, or nullopt on timeout.
std::optional<int> WaitForExit(pid_t pid, std::chrono::milliseconds timeout);

// Sends `signal` to `pid`, waits up to `grace`, then SIGKILLs and reaps. Returns the status.
int StopProcess(pid_t pid, int signal, std::chrono::milliseconds grace);

// "exited 0", "killed by signal 9", ...
std::string DescribeWaitStatus(int status);

}  // namespace berth::testutil
