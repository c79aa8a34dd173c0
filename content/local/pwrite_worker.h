#pragma once

// PwriteWorker: a helper thread that pwrite(2)s one buffer while its owner does something else
// with the same bytes (LocalContentWriter hashes them). Hashing and copying into the page cache
// then overlap on two cores instead of adding up. Internal to content/local.

#include <sys/types.h>

#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace berth::content::local {

class PwriteWorker {
 public:
  // Writes go to `fd`, which must outlive the worker.
  explicit PwriteWorker(int fd);
  // Joins the thread. Must not be called with a write in flight (Wait first).
  ~PwriteWorker();
  PwriteWorker(const PwriteWorker&) = delete;
  PwriteWorker& operator=(const PwriteWorker&) = delete;

  // Starts writing all of `data` at `offset`. `data` must stay valid until Wait returns. One
  // write at a time.
  void Start(absl::string_view data, int64_t offset);
  // Waits for the write started last; returns 0, or the errno that stopped it.
  int Wait();

 private:
  void Loop();

  const int fd_;
  absl::Mutex mu_;
  absl::string_view data_ ABSL_GUARDED_BY(mu_);
  int64_t offset_ ABSL_GUARDED_BY(mu_) = 0;
  bool pending_ ABSL_GUARDED_BY(mu_) = false;  // a write was started and not finished
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int error_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace berth::content::local
