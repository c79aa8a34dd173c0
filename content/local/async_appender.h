#pragma once

// AsyncAppender: writes and hashes an ingest's bytes on two threads of its own while the caller
// goes on (receives the next chunk). Append copies into an aligned ring; one thread hashes from
// it, the other writes whatever whole 4 KiB blocks have accumulated, up to 8 MiB per pwrite,
// with O_DIRECT where the file system allows it (else through the page cache). Receiving,
// hashing and the disk then overlap for the whole ingest instead of taking turns per chunk, and
// a disk slower than the caller gets larger writes. On this kind of VM a buffered write +
// fsync moves ~210 MB/s and O_DIRECT ~730 MB/s (dd, 1 GiB).
//
// The file holds a prefix of the appended bytes at all times (writes go out in order); Drain
// makes it hold all of them, writing the unaligned tail (< 4 KiB) through the buffered
// descriptor and keeping it staged to go out directly with later bytes. After a failed write
// the writing thread writes nothing more: the file then holds a prefix of what was appended,
// which is what a writer resumes from. Internal to content/local.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "content/digest.h"
#include "plugins/base/unique_fd.h"

namespace berth::content::local {

class AsyncAppender {
 public:
  // Appends go after the first `offset` bytes of the file at `path`, which is open for writing
  // at `fd`; `hasher` has hashed those bytes and goes on with the appended ones. Both are
  // borrowed: they must outlive the appender, and `hasher` may be used only after Drain.
  // `expected_more` (0: unknown) is how many bytes the caller expects to append; it sizes the
  // staging ring (2-32 MiB).
  static absl::StatusOr<std::unique_ptr<AsyncAppender>> Start(const std::string& path, int fd,
                                                              int64_t offset,
                                                              int64_t expected_more,
                                                              Sha256& hasher);
  // Stops the threads; bytes not yet written are dropped (Drain first to keep them).
  ~AsyncAppender();
  AsyncAppender(const AsyncAppender&) = delete;
  AsyncAppender& operator=(const AsyncAppender&) = delete;

  // Queues a copy of `data`, waiting while the ring is full. 0, or the errno of a failed
  // write; `data` may then be partly queued, and nothing more reaches the file.
  int Append(absl::string_view data);
  // Waits until every appended byte is hashed and in the file. 0, or the errno of a failed
  // write (every byte is hashed all the same).
  int Drain();

 private:
  // A range of the stream for a thread: whole blocks to write, the unaligned tail to write
  // (draining), or bytes to hash.
  struct Job {
    int64_t from;
    int64_t to;
    bool tail = false;
  };

  AsyncAppender(int fd, UniqueFd direct_fd, char* ring, int64_t ring_bytes, int64_t block_start,
                int64_t offset, Sha256& hasher);
  void WriteLoop();
  void HashLoop();
  // Wait for the next job; nullopt when told to stop.
  std::optional<Job> NextWrite() ABSL_LOCKS_EXCLUDED(mu_);
  std::optional<Job> NextHash() ABSL_LOCKS_EXCLUDED(mu_);
  int64_t Room() const ABSL_SHARED_LOCKS_REQUIRED(mu_);    // bytes Append may copy in now
  bool HasRoom() const ABSL_SHARED_LOCKS_REQUIRED(mu_);    // or failed
  bool Drained() const ABSL_SHARED_LOCKS_REQUIRED(mu_);    // or failed, and all hashed
  bool HasWrite() const ABSL_SHARED_LOCKS_REQUIRED(mu_);   // or told to stop
  bool HasHash() const ABSL_SHARED_LOCKS_REQUIRED(mu_);    // or told to stop
  char* RingAt(int64_t offset) const;
  int64_t RingEnd(int64_t offset) const;  // where the ring's contiguous run from `offset` ends
  // Starts (page cache) or forces (O_DIRECT: the device's write cache) writeback of what was
  // written since the last call, once enough has accumulated.
  void SyncSome(int64_t written);

  const int fd_;              // buffered; the tail goes through it
  const UniqueFd direct_fd_;  // O_DIRECT, or invalid when the file system refuses it
  char* const ring_;          // ring_bytes_ (whole MiB), page aligned
  const int64_t ring_bytes_;
  const int64_t ring_base_;   // the file offset at ring_[0] (block aligned)
  Sha256& hasher_;            // the hashing thread's while running
  int64_t synced_;            // writing thread only: writeback covers the file up to here

  absl::Mutex mu_;
  int64_t appended_ ABSL_GUARDED_BY(mu_);  // the file offset after the last appended byte
  int64_t written_ ABSL_GUARDED_BY(mu_);   // block aligned; the file holds every byte before it
  int64_t drained_ ABSL_GUARDED_BY(mu_);   // the file holds every byte before it (tail included)
  int64_t hashed_ ABSL_GUARDED_BY(mu_);    // every byte before it is hashed
  bool drain_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int error_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread writer_;
  std::thread hasher_thread_;
};

}  // namespace berth::content::local
