#pragma once

// IdleTrim: gives back memory while berthd is idle. Called about once a second from the main
// thread (which otherwise only waits for a shutdown signal); when the process has used almost
// no CPU since the previous call, and had been busy since the last trim, it returns freed heap
// to the kernel (malloc_trim) and drops the clean pages of its read-only file mappings
// (plugins/base/resident_trim.h). Idle RSS is one of the daemon's goals: most of it is code
// touched once at start-up (RocksDB, gRPC, protobuf) that an idle daemon does not run.

#include <cstdint>

namespace berth::server {

class IdleTrim {
 public:
  // Sets the allocator up for this split: while busy, freed memory stays in the heap for the
  // next call instead of going back to the kernel at once (no trimming of the heap top, and
  // allocations up to 4 MiB come from the heap rather than from fresh mmaps). Fresh pages
  // cost a page fault each, which on this VM made up over half of a 10,000-container List
  // (14 MB of response built anew per call: 114 -> 70 ms). Tick gives it back when idle.
  // Call once at start-up, before other threads exist.
  static void KeepFreedMemoryWhileBusy();

  // One check; returns true if it trimmed.
  bool Tick();

 private:
  int64_t last_cpu_us_ = -1;
  bool trimmed_ = false;  // nothing ran since the last trim
};

}  // namespace berth::server
