#pragma once

// Db is the metadata database: a RocksDB TransactionDB with containerd's View/Update shape.
//
//   db->Update([&](Txn& txn) -> absl::Status { ...reads and writes...; return OkStatus(); });
//
// Update runs `fn` in a pessimistic transaction: the keys it reads are locked (GetForUpdate),
// its writes commit atomically or not at all (an error from `fn` rolls everything back), and
// the commit is durable (write-ahead log, synced unless sync_writes is off) before Update
// returns. A conflict with a concurrent transaction is retried transparently a few times.
// View runs `fn` over a consistent snapshot without locks.
//
// Thread safety: Db is safe to use from any number of threads. A Txn belongs to its callback.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rocksdb/utilities/transaction_db.h"

namespace berth::metadata {

class Txn {
 public:
  // The value at `key`, or nullopt if absent. In an Update the key is locked exclusively until
  // commit (read-modify-write is safe).
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key);
  // Like Get, but an Update takes a shared lock: many transactions may hold it at once, and a
  // transaction that Gets the key exclusively waits for them. For keys most writers only check.
  absl::StatusOr<std::optional<std::string>> GetShared(absl::string_view key);
  // Whether `key` exists now (this transaction's writes included), without taking a lock: a
  // hint for choosing between GetShared and Get, never a basis for a write.
  absl::StatusOr<bool> Peek(absl::string_view key);
  // Writes; FailedPrecondition in a read-only (View) transaction.
  absl::Status Put(absl::string_view key, absl::string_view value);
  absl::Status Delete(absl::string_view key);
  // Calls fn(key, value) for each key starting with `prefix`, in key order, until fn returns
  // false. Sees this transaction's own writes.
  // `cached` false: the blocks read are not kept in the block cache — for listings that can
  // read far more than the 4 MiB cache holds and would only push out what point reads and
  // small scans keep hitting.
  absl::Status Scan(absl::string_view prefix,
                    absl::FunctionRef<bool(absl::string_view key, absl::string_view value)> fn,
                    bool cached = true);
  // Whether any key starts with `prefix`.
  absl::StatusOr<bool> HasPrefix(absl::string_view prefix);

 private:
  friend class Db;
  Txn(rocksdb::TransactionDB* db, rocksdb::Transaction* txn, const rocksdb::Snapshot* snapshot)
      : db_(db), txn_(txn), snapshot_(snapshot) {}
  absl::StatusOr<std::optional<std::string>> Read(absl::string_view key, bool exclusive);
  rocksdb::TransactionDB* db_;
  rocksdb::Transaction* txn_;           // null in View
  const rocksdb::Snapshot* snapshot_;  // View's snapshot
};

struct DbOptions {
  bool sync_writes = true;  // fsync the WAL on every commit (power-loss safe)
};

class Db {
 public:
  // Opens (creating if needed) the database in directory `path` and checks the schema version.
  static absl::StatusOr<std::unique_ptr<Db>> Open(const std::string& path, DbOptions options);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  absl::Status View(absl::FunctionRef<absl::Status(Txn&)> fn) const;
  absl::Status Update(absl::FunctionRef<absl::Status(Txn&)> fn);

  const std::string& path() const { return path_; }

 private:
  Db(std::string path, std::unique_ptr<rocksdb::TransactionDB> db, DbOptions options)
      : path_(std::move(path)), db_(std::move(db)), options_(options) {}
  absl::Status CheckSchema();
  // One transaction attempt: runs fn and commits; Aborted on a conflict.
  absl::Status TryUpdate(absl::FunctionRef<absl::Status(Txn&)> fn);

  std::string path_;
  std::unique_ptr<rocksdb::TransactionDB> db_;
  DbOptions options_;
  // Writers that lost a conflict retry one at a time, so contention on a hot key (a
  // namespace record every create touches) cannot livelock under load.
  std::mutex retry_mu_;
};

}  // namespace berth::metadata
