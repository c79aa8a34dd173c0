#pragma once

// Debian's Abseil is compiled without NDEBUG, so by default every absl::Mutex acquisition also
// records lock order in a global graph (deadlock detection) — gRPC's own locks included, dozens
// per RPC. Release builds of Berth's binaries turn that off at start.

#include "absl/synchronization/mutex.h"

namespace berth {

inline void UseReleaseAbseilMutexes() {
#ifdef NDEBUG
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
}

}  // namespace berth
