#include "content/local/async_appender.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "plugins/base/file_util.h"
#include "plugins/base/status_util.h"

namespace berth::content::local {
namespace {

constexpr int64_t kAlign = 4096;
// Room for the caller to run ahead of the disk: a device cache flush (below) takes ~50 ms here,
// during which the caller receives ~50 MB. Smaller for an ingest known to be smaller.
constexpr int64_t kMaxRingBytes = 32 << 20;
constexpr int64_t kMinRingBytes = 2 << 20;
// The threads wait for this much before a write or a hash (unless draining): fewer wake-ups,
// larger writes.
constexpr int64_t kMinWrite = 1 << 20;
constexpr int64_t kMaxWrite = 8 << 20;
constexpr int64_t kMinHash = 256 << 10;
constexpr int64_t kMaxHash = 4 << 20;
// Writeback is pushed every this many bytes, so Commit's fsync has little left to do. With
// O_DIRECT the bytes already left the page cache but may sit in the device's (the VM host's)
// write cache, whose flush at the end took as long as writing them (~0.8 s per GiB).
constexpr int64_t kSyncBytes = 64 << 20;

int64_t BlockEnd(int64_t offset) { return offset - offset % kAlign; }

}  // namespace

absl::StatusOr<std::unique_ptr<AsyncAppender>> AsyncAppender::Start(const std::string& path,
                                                                    int fd, int64_t offset,
                                                                    int64_t expected_more,
                                                                    Sha256& hasher) {
  int64_t ring_bytes = kMaxRingBytes;
  if (expected_more > 0) {
    // Room for the partial block before `offset` too; whole MiB.
    int64_t need = expected_more + kAlign + (1 << 20) - 1;
    ring_bytes = std::clamp(need - need % (1 << 20), kMinRingBytes, kMaxRingBytes);
  }
  // Mapped with its pages in place: touching 32 MiB page by page would take ~8,000 page faults,
  // which cost tens of milliseconds on this kind of VM.
  void* ring = mmap(nullptr, static_cast<size_t>(ring_bytes), PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (ring == MAP_FAILED) {
    return ErrnoError(errno, "map a write buffer for", path);
  }
  // The ring starts at a block boundary: the bytes of the file's last partial block are read
  // back into it, to go out with the first direct write.
  const int64_t block_start = BlockEnd(offset);
  if (int error = PreadFull(fd, ring, static_cast<size_t>(offset - block_start), block_start);
      error != 0) {
    munmap(ring, static_cast<size_t>(ring_bytes));
    return ErrnoError(error, "read", path);
  }
  UniqueFd direct(open(path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC));  // may be refused
  return std::unique_ptr<AsyncAppender>(new AsyncAppender(
      fd, std::move(direct), static_cast<char*>(ring), ring_bytes, block_start, offset, hasher));
}

AsyncAppender::AsyncAppender(int fd, UniqueFd direct_fd, char* ring, int64_t ring_bytes,
                             int64_t block_start, int64_t offset, Sha256& hasher)
    : fd_(fd),
      direct_fd_(std::move(direct_fd)),
      ring_(ring),
      ring_bytes_(ring_bytes),
      ring_base_(block_start),
      hasher_(hasher),
      synced_(block_start),
      appended_(offset),
      written_(block_start),
      drained_(offset),
      hashed_(offset),
      writer_([this] { WriteLoop(); }),
      hasher_thread_([this] { HashLoop(); }) {}

AsyncAppender::~AsyncAppender() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  writer_.join();
  hasher_thread_.join();
  munmap(ring_, static_cast<size_t>(ring_bytes_));
}

char* AsyncAppender::RingAt(int64_t offset) const {
  return ring_ + (offset - ring_base_) % ring_bytes_;
}

int64_t AsyncAppender::RingEnd(int64_t offset) const {
  return offset + ring_bytes_ - (offset - ring_base_) % ring_bytes_;
}

int64_t AsyncAppender::Room() const {
  // Ring space is free once both threads are past it.
  return ring_bytes_ - (appended_ - std::min(written_, hashed_));
}

bool AsyncAppender::HasRoom() const { return error_ != 0 || Room() > 0; }

bool AsyncAppender::Drained() const {
  return hashed_ >= appended_ && (error_ != 0 || drained_ >= appended_);
}

bool AsyncAppender::HasWrite() const {
  if (stop_) return true;
  if (error_ != 0) return false;
  int64_t blocks = BlockEnd(appended_) - written_;
  return blocks >= kMinWrite || (drain_ && (blocks > 0 || drained_ < appended_));
}

bool AsyncAppender::HasHash() const {
  return stop_ || appended_ - hashed_ >= kMinHash || (drain_ && hashed_ < appended_);
}

int AsyncAppender::Append(absl::string_view data) {
  while (!data.empty()) {
    int64_t at;
    int64_t n;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &AsyncAppender::HasRoom));
      if (error_ != 0) return error_;
      at = appended_;
      n = std::min({static_cast<int64_t>(data.size()), Room(), RingEnd(at) - at});
    }
    // Outside the lock: the threads read only what lies before appended_.
    memcpy(RingAt(at), data.data(), static_cast<size_t>(n));
    data.remove_prefix(static_cast<size_t>(n));
    absl::MutexLock lock(&mu_);
    appended_ += n;
  }
  return 0;
}

int AsyncAppender::Drain() {
  // Append and Drain come from one caller at a time, so appended_ stays put while this waits.
  absl::MutexLock lock(&mu_);
  drain_ = true;
  mu_.Await(absl::Condition(this, &AsyncAppender::Drained));
  drain_ = false;
  return error_;
}

std::optional<AsyncAppender::Job> AsyncAppender::NextWrite() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &AsyncAppender::HasWrite));
  if (stop_) return std::nullopt;
  Job job{written_, BlockEnd(appended_)};
  if (job.to == job.from) {
    // Only the tail is left (a drain): it never crosses the ring's end, as written_ is aligned.
    job.to = appended_;
    job.tail = true;
    return job;
  }
  job.to = std::min({job.to, job.from + kMaxWrite, RingEnd(job.from)});
  return job;
}

void AsyncAppender::WriteLoop() {
  while (std::optional<Job> job = NextWrite()) {
    // The tail goes through the page cache (O_DIRECT takes whole blocks) and stays staged.
    int fd = job->tail || !direct_fd_.valid() ? fd_ : direct_fd_.get();
    int error =
        PwriteFull(fd, RingAt(job->from), static_cast<size_t>(job->to - job->from), job->from);
    if (error == 0 && !job->tail) SyncSome(job->to);
    absl::MutexLock lock(&mu_);
    if (error != 0) {
      error_ = error;
      continue;
    }
    if (!job->tail) written_ = job->to;
    drained_ = std::max(drained_, job->to);
  }
}

std::optional<AsyncAppender::Job> AsyncAppender::NextHash() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &AsyncAppender::HasHash));
  if (stop_) return std::nullopt;
  return Job{hashed_, std::min({appended_, hashed_ + kMaxHash, RingEnd(hashed_)})};
}

void AsyncAppender::HashLoop() {
  while (std::optional<Job> job = NextHash()) {
    hasher_.Update(absl::string_view(RingAt(job->from), static_cast<size_t>(job->to - job->from)));
    absl::MutexLock lock(&mu_);
    hashed_ = job->to;
  }
}

void AsyncAppender::SyncSome(int64_t written) {
  if (written - synced_ < kSyncBytes) return;
  // Best effort: an error here resurfaces, if it matters, at Commit's fsync.
  if (direct_fd_.valid()) {
    (void)fdatasync(direct_fd_.get());
  } else {
    (void)sync_file_range(fd_, synced_, written - synced_, SYNC_FILE_RANGE_WRITE);
  }
  synced_ = written;
}

}  // namespace berth::content::local
