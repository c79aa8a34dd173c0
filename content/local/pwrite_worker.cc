#include "content/local/pwrite_worker.h"

namespace berth::content::local {
PwriteWorker::PwriteWorker() : thread_([this] { Loop(); }) {}

PwriteWorker::~PwriteWorker() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void PwriteWorker::Start(std::function<int()> job) {
  absl::MutexLock lock(&mu_);
  job_ = std::move(job);
  error_ = 0;
  pending_ = true;
}

int PwriteWorker::Wait() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](bool* pending) { return !*pending; }, &pending_));
  return error_;
}

void PwriteWorker::Loop() {
  while (true) {
    std::function<int()> job;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](PwriteWorker* w)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu_) { return w->pending_ || w->stop_; },
          this));
      if (!pending_) {
        return;  // stop_ with nothing in flight
      }
      job = std::move(job_);
    }
    int error = job();
    absl::MutexLock lock(&mu_);
    error_ = error;
    pending_ = false;
  }
}

}  // namespace berth::content::local
