#pragma once

// Copies bytes from one fd to another on the event loop, non-blocking both ways (a pty master
// and the client's FIFOs for terminal processes). Reading pauses while the destination is
// full, so a client that stops reading never blocks the shim.

#include <functional>
#include <memory>
#include <string>

#include "plugins/base/unique_fd.h"
#include "runtime/ttrpc/event_loop.h"

namespace berth::shim {

class Pump {
 public:
  // Takes both fds (use dup() to share one). `done` runs once the source hit EOF or an error
  // and everything read has been written (or the destination failed).
  static std::unique_ptr<Pump> Start(ttrpc::EventLoop* loop, UniqueFd src, UniqueFd dst,
                                     std::function<void()> done = nullptr);
  ~Pump();
  Pump(const Pump&) = delete;
  Pump& operator=(const Pump&) = delete;

  // Stops copying and closes both fds.
  void Stop();
  // Copies what the source holds now, then finishes as at EOF (CloseIO after the client wrote
  // its last bytes: they must not be lost).
  void Drain();

 private:
  Pump(ttrpc::EventLoop* loop, UniqueFd src, UniqueFd dst, std::function<void()> done);
  void OnReadable();
  void Flush();
  void Finish();

  ttrpc::EventLoop* loop_;
  UniqueFd src_, dst_;
  std::function<void()> done_;
  std::string buffer_;
  bool src_eof_ = false;
  bool watching_dst_ = false;
};

}  // namespace berth::shim
