#pragma once

// The number of calls in progress on the daemon's socket: the front end counts the calls it
// answers itself, an interceptor on the gRPC server counts the ones passed on. Stop() waits
// on it to drain.

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace berth::front {

class CallCounter {
 public:
  void Add(int delta) {
    absl::MutexLock lock(&mu_);
    calls_ += delta;
  }
  // True once no call is in progress; false if calls remain after `timeout`.
  bool WaitIdle(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(
                                    +[](int* calls) { return *calls == 0; }, &calls_),
                                timeout);
  }

 private:
  absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace berth::front
