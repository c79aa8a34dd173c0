#include "services/metadata/db.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "plugins/base/rocksdb_status.h"
#include "plugins/base/rocksdb_wal_env.h"
#include "plugins/base/status_macros.h"
#include "rocksdb/cache.h"
#include "rocksdb/table.h"
#include "services/metadata/schema.h"

namespace berth::metadata {
namespace {

constexpr int kMaxConflictRetries = 64;

rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

bool IsConflict(const absl::Status& status) { return absl::IsAborted(status); }

rocksdb::Options DatabaseOptions() {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.env = SizedWalEnv();  // cheaper synced appends (rocksdb_wal_env.h)
  // Small metadata: keep memory low (the daemon's idle RSS is a goal) and files few.
  options.write_buffer_size = 4 << 20;
  options.max_write_buffer_number = 2;
  options.max_open_files = 64;
  options.keep_log_file_num = 2;
  options.max_background_jobs = 1;
  options.recycle_log_file_num = 0;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(4 << 20);
  // 16 KiB blocks instead of 4: a List of 10,000 containers (14 MB of records) reads and
  // decompresses a quarter as many blocks; a point read still decompresses only one.
  table.block_size = 16 << 10;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

}  // namespace

absl::StatusOr<std::optional<std::string>> Txn::Get(absl::string_view key) {
  return Read(key, /*exclusive=*/true);
}

absl::StatusOr<std::optional<std::string>> Txn::GetShared(absl::string_view key) {
  return Read(key, /*exclusive=*/false);
}

absl::StatusOr<bool> Txn::Peek(absl::string_view key) {
  std::string value;
  rocksdb::ReadOptions read;
  read.snapshot = snapshot_;
  rocksdb::Status status = txn_ != nullptr ? txn_->Get(read, ToSlice(key), &value)
                                           : db_->Get(read, ToSlice(key), &value);
  if (status.IsNotFound()) return false;
  if (!status.ok()) return FromRocksDb(status, "metadata read");
  return true;
}

absl::StatusOr<std::optional<std::string>> Txn::Read(absl::string_view key, bool exclusive) {
  std::string value;
  rocksdb::Status status;
  if (txn_ != nullptr) {
    status = txn_->GetForUpdate(rocksdb::ReadOptions(), ToSlice(key), &value, exclusive);
  } else {
    rocksdb::ReadOptions read;
    read.snapshot = snapshot_;
    status = db_->Get(read, ToSlice(key), &value);
  }
  if (status.IsNotFound()) return std::nullopt;
  if (!status.ok()) return FromRocksDb(status, "metadata read");
  return value;
}

absl::Status Txn::Put(absl::string_view key, absl::string_view value) {
  if (txn_ == nullptr) return absl::FailedPreconditionError("write in a read-only transaction");
  return FromRocksDb(txn_->Put(ToSlice(key), ToSlice(value)), "metadata write");
}

absl::Status Txn::Delete(absl::string_view key) {
  if (txn_ == nullptr) return absl::FailedPreconditionError("write in a read-only transaction");
  return FromRocksDb(txn_->Delete(ToSlice(key)), "metadata delete");
}

absl::Status Txn::Scan(absl::string_view prefix,
                       absl::FunctionRef<bool(absl::string_view, absl::string_view)> fn,
                       bool cached) {
  rocksdb::ReadOptions read;
  read.snapshot = snapshot_;
  read.fill_cache = cached;
  std::string upper(prefix);
  // The smallest key greater than every key with this prefix: bump the last byte that can be.
  while (!upper.empty() && static_cast<unsigned char>(upper.back()) == 0xff) upper.pop_back();
  if (!upper.empty()) upper.back() = static_cast<char>(upper.back() + 1);
  rocksdb::Slice upper_slice(upper);
  if (!upper.empty()) read.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(txn_ != nullptr ? txn_->GetIterator(read)
                                                        : db_->NewIterator(read));
  for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
    absl::string_view key(it->key().data(), it->key().size());
    if (!absl::StartsWith(key, prefix)) break;
    if (!fn(key, absl::string_view(it->value().data(), it->value().size()))) break;
  }
  return FromRocksDb(it->status(), "metadata scan");
}

absl::StatusOr<bool> Txn::HasPrefix(absl::string_view prefix) {
  bool found = false;
  RETURN_IF_ERROR(Scan(prefix, [&](absl::string_view, absl::string_view) {
    found = true;
    return false;
  }));
  return found;
}

absl::StatusOr<std::unique_ptr<Db>> Db::Open(const std::string& path, DbOptions options) {
  rocksdb::TransactionDBOptions txn_options;
  txn_options.transaction_lock_timeout = 2000;  // ms; a conflict then retries
  rocksdb::TransactionDB* raw = nullptr;
  rocksdb::Status status =
      rocksdb::TransactionDB::Open(DatabaseOptions(), txn_options, path, &raw);
  if (!status.ok()) return FromRocksDb(status, absl::StrCat("open metadata `", path, "`"));
  std::unique_ptr<Db> db(new Db(path, std::unique_ptr<rocksdb::TransactionDB>(raw), options));
  RETURN_IF_ERROR(db->CheckSchema());
  return db;
}

Db::~Db() {
  if (db_ != nullptr) {
    // Flush the WAL so a clean shutdown leaves nothing to replay.
    (void)db_->FlushWAL(/*sync=*/true);
    (void)db_->Close();
  }
}

absl::Status Db::CheckSchema() {
  return Update([](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<std::string> version, txn.Get(kSchemaVersionKey));
    if (!version) return txn.Put(kSchemaVersionKey, kSchemaVersion);
    if (*version != kSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "metadata schema version ", *version, " is not supported (want ", kSchemaVersion, ")"));
    }
    return absl::OkStatus();
  });
}

absl::Status Db::View(absl::FunctionRef<absl::Status(Txn&)> fn) const {
  rocksdb::ManagedSnapshot snapshot(db_.get());
  Txn txn(db_.get(), nullptr, snapshot.snapshot());
  return fn(txn);
}

absl::Status Db::Update(absl::FunctionRef<absl::Status(Txn&)> fn) {
  absl::Status status = TryUpdate(fn);
  if (!IsConflict(status)) return status;
  // Lost a conflict: retry serialized with the other losers. A retrier now only contends with
  // first attempts, which themselves fall back here, so it wins within a few rounds.
  std::lock_guard<std::mutex> lock(retry_mu_);
  for (int attempt = 0; attempt < kMaxConflictRetries && IsConflict(status); ++attempt) {
    // Back off before retrying: a first attempt that waits for a lock this retrier just
    // released needs a moment to take it, or the retrier re-takes it and loses again.
    std::this_thread::sleep_for(std::chrono::microseconds(50 << std::min(attempt, 6)));
    status = TryUpdate(fn);
  }
  return status;
}

absl::Status Db::TryUpdate(absl::FunctionRef<absl::Status(Txn&)> fn) {
  rocksdb::WriteOptions write;
  write.sync = options_.sync_writes;
  rocksdb::TransactionOptions txn_options;
  txn_options.deadlock_detect = true;  // two shared holders upgrading fail fast and retry
  std::unique_ptr<rocksdb::Transaction> txn(db_->BeginTransaction(write, txn_options));
  Txn handle(db_.get(), txn.get(), nullptr);
  absl::Status status = fn(handle);
  if (status.ok()) status = FromRocksDb(txn->Commit(), "metadata commit");
  if (!status.ok()) (void)txn->Rollback();
  return status;
}

}  // namespace berth::metadata
