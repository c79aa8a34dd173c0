#pragma once

// The local end of a task's stdio, the way ctr does it (containerd cio): FIFOs
// kFifoRoot/<ns>@<id>-XXXXXX-{stdin,stdout,stderr}, whose paths go to Tasks.Create /
// Tasks.Exec; the shim opens the far ends. No directory per process: FIFOs hold no blocks,
// a directory does, and on a block device without a journal freeing it is a synchronous
// discard (container_util.h, NamespacedName). The read ends (stdout, stderr) are opened before the task is created, so
// no output is lost and the shim's blocking open of its write end returns. Stdin is opened
// O_RDWR: opening a FIFO for writing alone fails (ENXIO) until the shim has opened it.
//
// A FIFO opened for reading reports POLLHUP only after a writer has come and gone, so the
// copy threads wait for the shim, copy until it closes its end, and stop. Finish() bounds that
// wait, since a task that never started never opens its FIFOs.
//
// Also here: raw mode for the local terminal (-t) and forwarding of signals (SIGWINCH becomes
// a pty resize, SIGINT/SIGTERM/... go to the task) for as long as the objects live.

#include <termios.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "plugins/base/unique_fd.h"

namespace berth::ctl {

// Removes the FIFOs of one process, given any of their paths (one berthctl made: under
// kFifoRoot; others are left alone).
void RemoveFifosOf(const std::string& fifo_path);

class TaskIO {
 public:
  // `terminal`: no stderr FIFO (the pty merges both streams). `with_stdin`: a stdin FIFO.
  static absl::StatusOr<std::unique_ptr<TaskIO>> Create(const std::string& ns,
                                                        const std::string& name, bool with_stdin,
                                                        bool terminal);
  // Reopens the FIFOs of an existing process (attach). Paths not under kFifoRoot are refused.
  static absl::StatusOr<std::unique_ptr<TaskIO>> Attach(const std::string& stdin_path,
                                                        const std::string& stdout_path,
                                                        const std::string& stderr_path);
  ~TaskIO();
  TaskIO(const TaskIO&) = delete;
  TaskIO& operator=(const TaskIO&) = delete;

  const std::string& stdin_path() const { return stdin_path_; }
  const std::string& stdout_path() const { return stdout_path_; }
  const std::string& stderr_path() const { return stderr_path_; }

  // Copies the FIFOs to fds 1 and 2 and, with a stdin FIFO, fd 0 to it. `on_stdin_eof` runs
  // once after berthctl's stdin ended and the FIFO was closed (to send Tasks.CloseIO).
  void StartCopy(std::function<void()> on_stdin_eof);
  // Waits up to `drain` for the output to end, then stops every copy thread.
  void Finish(std::chrono::milliseconds drain = std::chrono::seconds(2));
  // Leaves the FIFOs in place for a detached task; closes our ends.
  void Detach();

 private:
  TaskIO() = default;
  absl::Status Open(bool with_stdin);
  // Copies stdout and stderr FIFOs to fds 1 and 2 until both writers are gone or Finish.
  void CopyOutputs();
  void CopyIn(std::function<void()> on_stdin_eof);
  bool Cancelled() const;

  // The FIFOs' common path before "-stdin" etc.: they are removed on destruction unless
  // Detach()ed; "" when attached.
  std::string prefix_;
  std::string stdin_path_, stdout_path_, stderr_path_;
  UniqueFd stdin_fd_, stdout_fd_, stderr_fd_;
  UniqueFd cancel_read_, cancel_write_;  // a pipe: closing the write end wakes every poll
  // Whether the output copy ended; Finish waits on the condition (not a poll: the end of a
  // short task's output is on every `run`'s critical path).
  std::mutex outputs_mu_;
  std::condition_variable outputs_done_;
  bool outputs_ended_ = true;
  std::vector<std::thread> threads_;
};

// Puts fd 0 in raw mode if it is a terminal; restores it on destruction.
class RawTerminal {
 public:
  RawTerminal();
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  bool active_ = false;
  struct termios saved_ {};
};

// The size of the local terminal (fd 0 or 1); false if neither is one.
bool TerminalSize(uint32_t* width, uint32_t* height);

// While alive, SIGWINCH calls `on_resize` and SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and
// SIGUSR2 call `on_signal(sig)`, on a thread of its own (handlers only write to a pipe). One
// instance at a time per process (the handlers share one pipe).
class SignalForwarder {
 public:
  SignalForwarder(std::function<void()> on_resize, std::function<void(int)> on_signal);
  ~SignalForwarder();
  SignalForwarder(const SignalForwarder&) = delete;
  SignalForwarder& operator=(const SignalForwarder&) = delete;

 private:
  std::function<void()> on_resize_;
  std::function<void(int)> on_signal_;
  std::thread thread_;
};

}  // namespace berth::ctl
