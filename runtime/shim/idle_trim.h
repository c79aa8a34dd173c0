#pragma once

// Keeps an idle shim's resident set small. A shim spends nearly all its life waiting in
// epoll_wait, yet the code it ran once (start-up, protobuf registration, container creation)
// stays mapped, about 3 MiB of the executable. Once the shim has been idle for a moment,
// IdleTrimmer gives those clean pages back (plugins/base/resident_trim.h); they stay in the
// page cache, shared with every other shim, and fault back in on the next request.

#include "runtime/ttrpc/event_loop.h"

namespace berth::shim {

class IdleTrimmer {
 public:
  explicit IdleTrimmer(ttrpc::EventLoop* loop) : loop_(loop) {}
  ~IdleTrimmer();

  // Activity: trims after `kIdleDelay` without another Touch().
  void Touch();

 private:
  ttrpc::EventLoop* loop_;
  ttrpc::EventLoop::TimerId timer_ = 0;
};

}  // namespace berth::shim
