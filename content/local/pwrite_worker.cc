#include "content/local/pwrite_worker.h"

#include <unistd.h>

#include <cerrno>

namespace berth::content::local {
namespace {

// pwrite(2) of all of `data`; 0 or errno.
int PwriteAll(int fd, absl::string_view data, int64_t offset) {
  while (!data.empty()) {
    ssize_t n = pwrite(fd, data.data(), data.size(), offset);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return errno;
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += n;
  }
  return 0;
}

}  // namespace

PwriteWorker::PwriteWorker(int fd) : fd_(fd), thread_([this] { Loop(); }) {}

PwriteWorker::~PwriteWorker() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void PwriteWorker::Start(absl::string_view data, int64_t offset) {
  absl::MutexLock lock(&mu_);
  data_ = data;
  offset_ = offset;
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
    absl::string_view data;
    int64_t offset;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](PwriteWorker* w)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu_) { return w->pending_ || w->stop_; },
          this));
      if (!pending_) {
        return;  // stop_ with nothing in flight
      }
      data = data_;
      offset = offset_;
    }
    int error = PwriteAll(fd_, data, offset);
    absl::MutexLock lock(&mu_);
    error_ = error;
    pending_ = false;
  }
}

}  // namespace berth::content::local
