#pragma once

// A process's stdio as the client asked for it in Create/Exec (containerd's pkg/process/io.go):
// FIFO paths (opened here, before the process starts), "file:///path" logs, or nothing
// (/dev/null). Without a terminal the process gets the FIFOs themselves, so the shim copies
// nothing; with one, two pumps copy stdin FIFO -> pty master -> stdout FIFO.
//
// stdin is the exception: the process gets a pipe that a pump fills from the FIFO. A FIFO read
// directly would return EOF before the client has opened its side; the shim's read end, watched
// with epoll, reports hang-up only once a writer has come and gone (the kernel compares writer
// generations), which is exactly when the process must see EOF.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "plugins/base/unique_fd.h"
#include "runtime/shim/backend.h"
#include "runtime/shim/pump.h"
#include "runtime/ttrpc/event_loop.h"

namespace berth::shim {

struct StdioPaths {
  std::string in, out, err;
  bool terminal = false;
};

class ProcessIo {
 public:
  // Unimplemented for binary:// URIs, InvalidArgument for other schemes, the open error for a
  // path that cannot be opened.
  static absl::StatusOr<std::unique_ptr<ProcessIo>> Open(const StdioPaths& paths);
  ~ProcessIo();

  // The fds the runtime gives the process (valid until Started()).
  ProcessStdio ForProcess() const;
  // The process runs: drop the process's ends; with a terminal, start copying through `console`.
  void Started(ttrpc::EventLoop* loop, UniqueFd console);
  // CloseIO(stdin): stops copying stdin; without a terminal the process reads EOF.
  void CloseStdin();
  // The process exited: nothing more will read its stdin.
  void Exited();
  // The pty master, or -1.
  int console() const { return console_.get(); }

 private:
  ProcessIo() = default;

  bool terminal_ = false;
  UniqueFd in_, out_, err_;  // The process's ends.
  UniqueFd stdin_fifo_;      // Our read end of the stdin FIFO (until the pump takes it).
  UniqueFd stdin_pipe_;      // The write end of the process's stdin pipe (no terminal).
  UniqueFd console_;         // Kept for ResizePty.
  std::unique_ptr<Pump> in_pump_, out_pump_;
};

}  // namespace berth::shim
