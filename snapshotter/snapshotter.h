#pragma once

// The Snapshotter interface: containerd's snapshot model, contract and vocabulary
// (containerd snapshots/snapshotter.go), so its docs and its test suite carry over.
//
// A snapshotter manages filesystem snapshots addressed by string keys. A snapshot is one of
// three kinds:
//
//   - active:    writable, made by Prepare. Its contents may change until Commit.
//   - view:      read-only, made by View. It can never be committed.
//   - committed: read-only and immutable, made by Commit from an active snapshot. Only
//                committed snapshots can be parents.
//
// Snapshots form a forest: every snapshot has zero or one committed parent, and a committed
// snapshot may have many children. Keys of active and view snapshots and names of committed
// snapshots share one namespace: a string names at most one snapshot.
//
// The typical life of an image layer:
//
//   mounts = Prepare("extract-<random> <chainID>", parent_chain_id)
//   mount `mounts`, apply the layer tar, unmount
//   Commit(chain_id, "extract-<random> <chainID>")
//
// and of a container's root filesystem:
//
//   mounts = Prepare(container_id, top_layer_chain_id)   // the shim mounts these
//   ... container runs; Usage(container_id) reports its writes ...
//   Remove(container_id)
//
// Mounts are data: a snapshotter never mounts anything in the caller's namespace. It returns
// a list of Mount values (snapshotter/mount.h) that the caller (shim, diff service, tests)
// performs, in order, on its own target directory (snapshotter/mount_util.h helps).
//
// Backends know nothing of namespaces, leases or garbage collection; the metadata layer wraps
// them (services/metadata) and maps namespaced keys onto backend keys.
//
// Errors (absl::Status codes, matching containerd's errdefs so they map one-to-one to gRPC):
//   kNotFound            the key, name or parent does not exist
//   kAlreadyExists       the key or name is in use
//   kFailedPrecondition  the snapshot is in the wrong state: Commit of a non-active snapshot,
//                        Mounts of a committed one, Remove of a snapshot that has children
//   kInvalidArgument     an empty key, a parent that is not committed, an immutable field
//                        in Update
//   others               environment failures (I/O, ENOSPC, database), message says which
//
// Thread safety: every method may be called concurrently from any thread. Each call is atomic:
// it either takes full effect (metadata and disk) or none.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "snapshotter/mount.h"

namespace berth::snapshotter {

// The kind of a snapshot. Values match containerd's snapshots.Kind and the gRPC enum
// (containerd.services.snapshots.v1.Kind: UNKNOWN=0, VIEW=1, ACTIVE=2, COMMITTED=3).
enum class Kind : uint8_t {
  kUnknown = 0,
  kView = 1,
  kActive = 2,
  kCommitted = 3,
};

// "View", "Active", "Committed" or "Unknown" (containerd's Kind.String()).
absl::string_view KindName(Kind kind);
// Case-insensitive inverse of KindName; anything else is kUnknown (containerd's ParseKind).
Kind ParseKind(absl::string_view name);

// User-defined key/value metadata on a snapshot. Ordered so that output is deterministic.
using Labels = std::map<std::string, std::string>;

// What Stat/Walk/Update report about a snapshot (containerd snapshots.Info).
struct SnapshotInfo {
  Kind kind = Kind::kUnknown;
  // The key (active, view) or name (committed) of the snapshot.
  std::string name;
  // The name of the committed parent, empty for a snapshot with no parent.
  std::string parent;
  Labels labels;
  // Set when the snapshot is created; Commit sets it again, since a committed snapshot is a
  // new object. updated_at is bumped by every Update.
  absl::Time created_at = absl::UnixEpoch();
  absl::Time updated_at = absl::UnixEpoch();
};

// How a snapshotter that keeps each active snapshot's own changes in one directory, apart from
// its parents' files (overlayfs's upper dir), records deletions there: whiteouts as overlayfs
// reads them, opaque markers in the trusted.* or (userxattr) user.* xattr namespace.
struct ChangeDirFormat {
  bool userxattr = false;
};

// Resources a snapshot uses on disk, not counting its parents (containerd snapshots.Usage).
struct Usage {
  // Number of distinct inodes (hard links count once).
  int64_t inodes = 0;
  // Bytes of disk space used (allocated blocks, not apparent file size).
  int64_t size = 0;
};

class Snapshotter {
 public:
  Snapshotter() = default;
  virtual ~Snapshotter() = default;
  Snapshotter(const Snapshotter&) = delete;
  Snapshotter& operator=(const Snapshotter&) = delete;

  // Returns the info of the active, view or committed snapshot named `key`.
  // Use it for parent resolution, existence checks and to learn the kind of a snapshot.
  // kNotFound if there is no such snapshot.
  virtual absl::StatusOr<SnapshotInfo> Stat(absl::string_view key) = 0;

  // Updates the mutable fields of the snapshot `info.name` and returns the stored result.
  // Only labels are mutable; kind, parent and times in `info` are ignored. `fieldpaths`:
  //   empty             replace all labels with info.labels
  //   "labels"          the same
  //   "labels.<k>"      set label <k> to info.labels[<k>], or delete it if absent from info
  // Any other path is kInvalidArgument (nothing is changed). kNotFound if the snapshot does
  // not exist. Sets updated_at to now.
  virtual absl::StatusOr<SnapshotInfo> Update(const SnapshotInfo& info,
                                              absl::Span<const std::string> fieldpaths) = 0;

  // Returns the disk usage of the snapshot `key` itself, excluding its parents. For a
  // committed snapshot the value recorded at Commit is returned; for an active snapshot the
  // writable layer is measured now, which may take time on large trees.
  // kNotFound if the snapshot does not exist.
  virtual absl::StatusOr<snapshotter::Usage> Usage(absl::string_view key) = 0;

  // Returns the mounts for the active or view snapshot `key`: the same list that Prepare or
  // View returned, so a caller can recover them later (e.g. after a daemon restart).
  // kNotFound if it does not exist; kFailedPrecondition if it is committed (committed
  // snapshots are only reachable through a View or a Prepare on top of them).
  virtual absl::StatusOr<std::vector<Mount>> Mounts(absl::string_view key) = 0;

  // Creates an active (writable) snapshot `key` whose contents start as those of the
  // committed snapshot `parent` ("" = an empty directory), and returns the mounts that make
  // it visible. Changes written through the mounts become the snapshot's contents; Commit
  // freezes them, Remove discards them. `labels` are stored with the snapshot.
  // kInvalidArgument if `key` is empty or `parent` is not committed; kAlreadyExists if `key`
  // is in use (a second Prepare or View with the same key fails); kNotFound if `parent`
  // does not exist.
  virtual absl::StatusOr<std::vector<Mount>> Prepare(absl::string_view key,
                                                     absl::string_view parent,
                                                     const Labels& labels) = 0;

  // Like Prepare, but the snapshot is a read-only view of `parent` that can never be
  // committed. Writes through the returned mounts fail (EROFS). Same errors as Prepare.
  virtual absl::StatusOr<std::vector<Mount>> View(absl::string_view key, absl::string_view parent,
                                                  const Labels& labels) = 0;

  // Turns the active snapshot `key` into the committed snapshot `name`, capturing its current
  // contents and disk usage. Afterwards `key` no longer exists and `name` can be a parent.
  // The committed snapshot's labels are `labels` (the active snapshot's are not inherited)
  // and its created_at is now. Callers must unmount the active snapshot before committing.
  // kNotFound if `key` does not exist; kFailedPrecondition if it is not active (view or
  // committed); kAlreadyExists if `name` is in use; kInvalidArgument if `name` is empty.
  virtual absl::Status Commit(absl::string_view name, absl::string_view key,
                              const Labels& labels) = 0;

  // Removes the snapshot `key` of any kind. Its name becomes free at once; its disk space is
  // reclaimed now or, for snapshotters configured to defer it, by the next Cleanup. Callers
  // must unmount it first. kNotFound if it does not exist; kFailedPrecondition if it has
  // children (remove them first: the forest is removed leaf to root).
  virtual absl::Status Remove(absl::string_view key) = 0;

  // Calls `fn` once per snapshot (all kinds), in no particular order, while holding a read
  // view of the metadata: `fn` must not call back into this snapshotter's mutating methods.
  // Stops at, and returns, the first non-OK status from `fn`. Filtering (containerd's
  // filter expressions) is the caller's business.
  virtual absl::Status Walk(absl::FunctionRef<absl::Status(const SnapshotInfo&)> fn) = 0;

  // Set by snapshotters whose active snapshot on a parent writes only its own changes, in one
  // directory (the upper dir of an overlay mount) that starts empty whatever the parent holds.
  // Such a directory can be filled before its parent is committed and moved into place, which
  // lets the unpacker apply an image's layers in parallel (services/unpack). Others: nullopt.
  virtual std::optional<ChangeDirFormat> SeparateChangeDirs() const { return std::nullopt; }

  // Reclaims disk space left behind by removed snapshots, interrupted operations and crashes:
  // anything under the snapshotter's root that no snapshot owns. Safe to call at any time.
  virtual absl::Status Cleanup() = 0;
};

}  // namespace berth::snapshotter
