#pragma once

// The GC scheduler (plugin io.containerd.gc.v1 "scheduler", containerd gc/scheduler): runs
// metadata::Collector on a background thread
//   - every `schedule_interval` (0 = never by time; expired leases and ingests are then only
//     collected by the other triggers),
//   - after `mutation_threshold` mutations (creates/updates of content and images),
//   - after `deletion_threshold` deletions (0 = after any deletion), `schedule_delay` later,
//   - once, `startup_delay` after start,
//   - and on demand: ScheduleAndWait() (Images.Delete / Leases.Delete with sync) returns once a
//     collection that started after the call has finished.
//
// Config section [plugins."io.containerd.gc.v1.scheduler"]:
//   schedule_interval = "1h"    mutation_threshold = 100   deletion_threshold = 0
//   schedule_delay = "0ms"      startup_delay = "100ms"
//
// Thread safety: all public methods may be called from any thread.

#include <cstdint>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "plugins/registry.h"
#include "services/metadata/gc.h"

namespace berth::gc {

struct SchedulerOptions {
  absl::Duration schedule_interval = absl::Hours(1);
  int mutation_threshold = 100;
  int deletion_threshold = 0;
  absl::Duration schedule_delay = absl::ZeroDuration();
  absl::Duration startup_delay = absl::Milliseconds(100);
};

class Scheduler {
 public:
  Scheduler(metadata::Collector& collector, SchedulerOptions options);
  ~Scheduler();  // stops the thread (a running collection finishes first)
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Counts a mutation or deletion (metadata stores call this).
  void Mutated(bool deletion) ABSL_LOCKS_EXCLUDED(mu_);
  // Runs a collection now (or right after the running one) and waits for it.
  absl::Status ScheduleAndWait() ABSL_LOCKS_EXCLUDED(mu_);

  metadata::Collector& collector() { return collector_; }

 private:
  void Loop();
  bool DueLocked(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  metadata::Collector& collector_;
  const SchedulerOptions options_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int mutations_ ABSL_GUARDED_BY(mu_) = 0;
  int deletions_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time next_ ABSL_GUARDED_BY(mu_);            // time-based trigger
  absl::Time deletion_due_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  int64_t requested_ ABSL_GUARDED_BY(mu_) = 0;      // on-demand requests issued
  int64_t started_ ABSL_GUARDED_BY(mu_) = 0;        // requests covered by a started run
  int64_t finished_ ABSL_GUARDED_BY(mu_) = 0;       // requests covered by a finished run
  absl::Status last_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// What the gc plugin exports: the collector and its scheduler.
struct GcPlugin {
  std::unique_ptr<metadata::Collector> collector;
  std::unique_ptr<Scheduler> scheduler;
};

}  // namespace berth::gc

namespace berth::services {
void RegisterGcPlugin(plugins::Registry& registry);
}  // namespace berth::services
