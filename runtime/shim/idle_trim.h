#pragma once

// Keeps an idle shim's resident set small. A shim spends nearly all its life waiting in
// epoll_wait, yet the code it ran once (start-up, protobuf registration, container creation)
// stays mapped: with the kernel's fault-around each touched page maps its 64 KiB neighbourhood,
// about 3 MiB of the executable. Once the shim has been idle for a moment, IdleTrimmer unmaps
// the clean, never-written pages of the executable's read-only mappings (MADV_DONTNEED); they
// stay in the page cache, shared with every other shim, and fault back in on the next request.
// Mappings holding written (copy-on-write) pages are never touched.

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

// Drops the executable's clean read-only pages now (see above). Returns the bytes advised.
size_t TrimExecutablePages();

}  // namespace berth::shim
