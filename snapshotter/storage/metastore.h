#pragma once

// MetaStore: the metadata of one snapshotter, in a small RocksDB under that snapshotter's root
// (containerd snapshots/storage/{metastore,bolt}.go). Wiping the root wipes everything.
//
// It records, per snapshot: a small integer id (from a sequence, so on-disk directory names
// and overlay lowerdir= strings stay short), kind, parent, labels, timestamps and, for
// committed snapshots, disk usage; plus parent -> child links so that Remove can refuse to
// orphan children. Directories on disk are named by id; keys and names live only here.
//
// Key schema (all keys start with "v1/"; update this comment and add a migration on change):
//
//   v1/seq                               -> last id handed out, decimal ("0" initially)
//   v1/s/<key or name>                   -> Record, encoded by EncodeRecord (metastore.cc)
//   v1/c/<parent id:016x>/<child id:016x> -> the child's current key or name
//
// Transactions. Update(fn) runs `fn` with a writable Transaction: writes go to a batch that
// reads see (WriteBatchWithIndex), and the batch is written atomically and durably (sync)
// only if `fn` returns OK (Durability::kUnsynced: atomically, on disk with the next synced
// commit or RocksDB's own flush; a machine crash before that undoes it). Updates are
// serialized by a mutex, so `fn` may do filesystem work (create, rename) knowing no other
// update interleaves, like containerd's bolt write txn.
// View(fn) runs `fn` on a consistent read-only snapshot of the database and does not wait for
// updates in progress. Transactions must not escape `fn`. Thread-safe.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "snapshotter/snapshotter.h"

namespace rocksdb {
class DB;
class Snapshot;
class WriteBatchWithIndex;
}  // namespace rocksdb

namespace berth::snapshotter::storage {

// What a snapshotter needs to compute mounts (containerd storage.Snapshot).
struct Snapshot {
  std::string id;
  Kind kind = Kind::kUnknown;
  // Ids of all ancestors, nearest parent first.
  std::vector<std::string> parent_ids;
};

// Everything stored about one snapshot.
struct Record {
  std::string id;
  SnapshotInfo info;
  snapshotter::Usage usage;  // meaningful for committed snapshots only
};

class MetaStore {
 public:
  class Transaction;

  // Opens (creating if needed) the database directory `path`.
  static absl::StatusOr<std::unique_ptr<MetaStore>> Open(const std::string& path);
  ~MetaStore();
  MetaStore(const MetaStore&) = delete;
  MetaStore& operator=(const MetaStore&) = delete;

  // Read-only transaction; writes through it fail with kInternal.
  absl::Status View(absl::FunctionRef<absl::Status(Transaction&)> fn);
  enum class Durability { kSynced, kUnsynced };
  // Read-write transaction, committed iff `fn` returns OK.
  absl::Status Update(absl::FunctionRef<absl::Status(Transaction&)> fn,
                      Durability durability = Durability::kSynced);

  // One-transaction shorthands for the single reads and the label update every backend needs.
  absl::StatusOr<Record> GetInfo(absl::string_view key);
  absl::StatusOr<Snapshot> GetSnapshot(absl::string_view key);
  absl::StatusOr<SnapshotInfo> UpdateInfo(const SnapshotInfo& info,
                                          absl::Span<const std::string> fieldpaths);

 private:
  explicit MetaStore(std::unique_ptr<rocksdb::DB> db);
  std::unique_ptr<rocksdb::DB> db_;
  absl::Mutex write_mu_;
};

// The operations, as containerd's storage package has them. Codes follow snapshotter.h.
class MetaStore::Transaction {
 public:
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // The record of `key` (any kind). kNotFound if absent.
  absl::StatusOr<Record> GetInfo(absl::string_view key);

  // Id, kind and ancestor ids of the active or view snapshot `key`.
  // kNotFound if absent; kFailedPrecondition if committed.
  absl::StatusOr<Snapshot> GetSnapshot(absl::string_view key);

  // Records a new active or view snapshot with a fresh id; created_at = updated_at = now.
  // kInvalidArgument for another kind, an empty key or a parent that is not committed;
  // kAlreadyExists if `key` is taken; kNotFound if `parent` does not exist.
  absl::StatusOr<Snapshot> CreateSnapshot(Kind kind, absl::string_view key,
                                          absl::string_view parent, const Labels& labels);

  // Renames active `key` to committed `name` keeping its id; stores `usage` and `labels`
  // (not inherited); created_at = updated_at = now. Returns the id.
  // kNotFound, kFailedPrecondition (not active), kAlreadyExists (name), kInvalidArgument.
  absl::StatusOr<std::string> CommitActive(absl::string_view key, absl::string_view name,
                                           const snapshotter::Usage& usage, const Labels& labels);

  // Deletes `key`; returns its id and kind. kNotFound; kFailedPrecondition if it has children.
  absl::StatusOr<std::pair<std::string, Kind>> Remove(absl::string_view key);

  // Applies Snapshotter::Update semantics to the labels of `info.name`; returns the result.
  absl::StatusOr<SnapshotInfo> UpdateInfo(const SnapshotInfo& info,
                                          absl::Span<const std::string> fieldpaths);

  // Calls `fn` for every snapshot; stops at the first error and returns it.
  absl::Status WalkInfo(absl::FunctionRef<absl::Status(const Record&)> fn);

  // Every id in use, mapped to its key or name (to find orphaned directories).
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> IdMap();

 private:
  friend class MetaStore;
  Transaction(rocksdb::DB* db, const rocksdb::Snapshot* snapshot, bool writable);
  absl::Status Commit(Durability durability);

  absl::StatusOr<std::string> Get(absl::string_view key);  // kNotFound if absent
  absl::Status Put(absl::string_view key, absl::string_view value);
  absl::Status Delete(absl::string_view key);
  // Calls fn(key, value) for every key starting with `prefix`, in order.
  absl::Status Scan(absl::string_view prefix,
                    absl::FunctionRef<absl::Status(absl::string_view, absl::string_view)> fn);
  absl::Status PutRecord(absl::string_view key, const Record& record);
  absl::StatusOr<bool> HasChildren(absl::string_view id);

  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_;  // reads of View transactions; null for Update
  bool writable_;
  std::unique_ptr<rocksdb::WriteBatchWithIndex> batch_;
};

}  // namespace berth::snapshotter::storage
