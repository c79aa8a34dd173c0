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
  // One check; returns true if it trimmed.
  bool Tick();

 private:
  int64_t last_cpu_us_ = -1;
  bool trimmed_ = false;  // nothing ran since the last trim
};

}  // namespace berth::server
