#pragma once

// Garbage collection of the metadata database and the content backend (containerd
// metadata/gc.go + gc/gc.go), one namespace at a time.
//
// Nodes: content blobs, ingests, leases, snapshots (through SnapshotGcHook).
// Roots:
//   - images: their target digest;
//   - containers: (snapshotter, snapshot key);
//   - unexpired leases (label containerd.io/gc.expire, RFC 3339): every resource attached;
//   - content or snapshots labelled containerd.io/gc.root;
//   - ingests whose expires_at is in the future (leased ingests have none: the lease holds them).
// Edges:
//   - content -> content: labels containerd.io/gc.ref.content and gc.ref.content.<anything>;
//   - content -> snapshot: containerd.io/gc.ref.snapshot.<snapshotter>[/<anything>] = key;
//   - snapshot -> parent and the same label forms (reported by the hook);
//   - ingest -> its expected digest.
// Sweep, per namespace: expired leases are deleted, then expired unreferenced ingests (record,
// then the backend ingest), then unreachable content records, then unreachable snapshots (hook).
// Finally blobs that no namespace holds a record for are removed from the backend.
//
// Concurrency: the collector never holds the write path for long.
//   1. Mark runs on a consistent snapshot (Db::View) without locks; it only chooses
//      candidates.
//   2. Candidates are deleted in small batches (kSweepBatch records per transaction). Each
//      batch first locks its candidates' keys (GetForUpdate), then re-reads the current
//      referrers (images, content labels, leases, ingests) and deletes only candidates that
//      nothing existing references. Every writer that adds a reference to a content record
//      (image create/update, content label update or commit, lease under a commit) locks that
//      record's key in its own transaction (content.h). So a racing writer either committed
//      before the batch took its locks - and the batch sees its reference and keeps the
//      object - or it waits for the batch, after which the object is gone and the writer sees
//      that. A create racing with GC therefore never loses an object it committed a reference
//      to. Candidates referenced only by other candidates are retried in later passes once
//      their referrers are gone (so reference cycles between unreachable blobs are not
//      collected). A reference added through Leases.AddResource does not lock the content key;
//      such a lease racing with the collection of that very blob may lose it (containerd
//      holds a global lock instead).
//   3. Blobs are removed from the backend one at a time under ContentMetadata's pin lock,
//      after re-checking that no namespace has a record and no writer pinned the digest.
//
// Thread safety: Collect() may be called from any thread; collections are serialised.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/metadata/content.h"
#include "services/metadata/db.h"

namespace berth::metadata {

// What snapshots look like to the collector. Implemented by the snapshot metadata layer.
class SnapshotGcHook {
 public:
  virtual ~SnapshotGcHook() = default;
  struct Snapshot {
    std::string snapshotter;
    std::string key;
    std::string parent;  // key of the parent in the same snapshotter, "" if none
    google::protobuf::Map<std::string, std::string> labels;
  };
  // Every snapshot of `ns`, read in `txn` (the mark snapshot).
  virtual absl::Status Walk(Txn& txn, const std::string& ns,
                            const std::function<void(const Snapshot&)>& fn) = 0;
  // Removes an unreachable snapshot; the hook re-checks that it is still unused (children,
  // containers, leases) and answers FailedPrecondition if not, which the collector ignores.
  virtual absl::Status Remove(const std::string& ns, const std::string& snapshotter,
                              const std::string& key) = 0;
  // Removes the backend snapshots no record of any namespace refers to (left by a daemon
  // killed between removing a record and its backend snapshot, or by a failed backend
  // remove) when there can be any; returns how many went.
  virtual absl::StatusOr<int> RemoveOrphanedBackends() = 0;
};

// Removes each of `items` with `remove(item)` in passes until one removes nothing: an item
// that answers FailedPrecondition (it still has children) is tried again in the next pass,
// NotFound counts as gone already, any other error stops. Returns how many `remove` took.
template <typename T, typename Remove>
absl::StatusOr<int> RemoveInPasses(std::vector<T> items, Remove remove) {
  int removed = 0;
  for (bool progress = true; progress && !items.empty();) {
    progress = false;
    std::vector<T> blocked;
    for (const T& item : items) {
      absl::Status status = remove(item);
      if (status.ok()) {
        ++removed;
        progress = true;
      } else if (absl::IsFailedPrecondition(status)) {
        blocked.push_back(item);
      } else if (!absl::IsNotFound(status)) {
        return status;
      }
    }
    items = std::move(blocked);
  }
  return removed;
}

struct GcStats {
  int leases = 0;
  int ingests = 0;
  int content = 0;
  int blobs = 0;
  int snapshots = 0;
  int backend_snapshots = 0;  // orphans (SnapshotGcHook::RemoveOrphanedBackends)
  absl::Duration duration;
};

class Collector {
 public:
  Collector(Db& db, ContentMetadata* content) : db_(db), content_(content) {}

  // A snapshot hook (nullptr: snapshots are marked but never swept). Set before collecting.
  void SetSnapshotHook(SnapshotGcHook* hook) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    snapshots_ = hook;
  }

  // One full collection of every namespace.
  absl::StatusOr<GcStats> Collect() ABSL_LOCKS_EXCLUDED(mu_);

  static constexpr int kSweepBatch = 64;

 private:
  struct Marked;
  absl::Status CollectNamespace(const std::string& ns, GcStats& stats);
  absl::StatusOr<Marked> Mark(const std::string& ns);
  absl::Status SweepLeases(const std::string& ns, const Marked& marked, GcStats& stats);
  absl::Status SweepIngests(const std::string& ns, const Marked& marked, GcStats& stats);
  absl::Status SweepContent(const std::string& ns, const Marked& marked, GcStats& stats);
  absl::Status SweepSnapshots(const std::string& ns, const Marked& marked, GcStats& stats);
  absl::Status SweepBlobs(GcStats& stats);

  Db& db_;
  ContentMetadata* content_;
  SnapshotGcHook* snapshots_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Mutex mu_;  // one collection at a time
};

// Whether a lease with these labels has expired at `now` (malformed expiry: not expired).
bool LeaseExpired(const google::protobuf::Map<std::string, std::string>& labels, absl::Time now);

}  // namespace berth::metadata
