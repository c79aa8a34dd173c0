#pragma once

// PwriteWorker: a helper thread that runs one write job (a pwrite(2) of a buffer, or an append
// through DirectAppender) while its owner does something else with the same bytes
// (LocalContentWriter hashes them). Hashing and writing then overlap on two cores instead of
// adding up. Internal to content/local.

#include <sys/types.h>

#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace berth::content::local {

class PwriteWorker {
 public:
  PwriteWorker();
  // Joins the thread. Must not be called with a write in flight (Wait first).
  ~PwriteWorker();
  PwriteWorker(const PwriteWorker&) = delete;
  PwriteWorker& operator=(const PwriteWorker&) = delete;

  // Starts `job` (which returns 0 or an errno); whatever it uses must stay valid until Wait
  // returns. One job at a time.
  void Start(std::function<int()> job);
  // Waits for the job started last; returns its result.
  int Wait();

 private:
  void Loop();

  absl::Mutex mu_;
  std::function<int()> job_ ABSL_GUARDED_BY(mu_);
  bool pending_ ABSL_GUARDED_BY(mu_) = false;  // a job was started and not finished
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int error_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace berth::content::local
