#include "snapshotter/storage/metastore.h"

#include <cinttypes>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "plugins/base/rocksdb_status.h"
#include "plugins/base/rocksdb_wal_env.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/utilities/write_batch_with_index.h"

namespace berth::snapshotter::storage {
namespace {

constexpr absl::string_view kSeqKey = "v1/seq";
constexpr absl::string_view kSnapshotPrefix = "v1/s/";
constexpr absl::string_view kChildPrefix = "v1/c/";
constexpr uint8_t kRecordVersion = 1;
// Far beyond what overlayfs can stack (500); only a corrupt database loops longer.
constexpr size_t kMaxChainLength = 1 << 16;

std::string SnapshotKey(absl::string_view key) { return absl::StrCat(kSnapshotPrefix, key); }

std::string ChildPrefix(absl::string_view parent_id) {
  uint64_t id = 0;
  (void)absl::SimpleAtoi(parent_id, &id);
  return absl::StrFormat("%s%016x/", kChildPrefix, id);
}

std::string ChildKey(absl::string_view parent_id, absl::string_view child_id) {
  uint64_t id = 0;
  (void)absl::SimpleAtoi(child_id, &id);
  return absl::StrFormat("%s%016x", ChildPrefix(parent_id), id);
}

// --- Record encoding: a version byte, then varints and length-prefixed strings. ---

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutString(std::string& out, absl::string_view s) {
  PutVarint(out, s.size());
  out.append(s.data(), s.size());
}

bool GetVarint(absl::string_view& in, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift <= 63 && !in.empty(); shift += 7) {
    auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool GetString(absl::string_view& in, std::string& s) {
  uint64_t n;
  if (!GetVarint(in, n) || n > in.size()) return false;
  s.assign(in.data(), n);
  in.remove_prefix(n);
  return true;
}

std::string EncodeRecord(const Record& r) {
  std::string out;
  out.push_back(static_cast<char>(kRecordVersion));
  PutString(out, r.id);
  out.push_back(static_cast<char>(r.info.kind));
  PutString(out, r.info.parent);
  PutVarint(out, static_cast<uint64_t>(absl::ToUnixNanos(r.info.created_at)));
  PutVarint(out, static_cast<uint64_t>(absl::ToUnixNanos(r.info.updated_at)));
  PutVarint(out, static_cast<uint64_t>(r.usage.inodes));
  PutVarint(out, static_cast<uint64_t>(r.usage.size));
  PutVarint(out, r.info.labels.size());
  for (const auto& [k, v] : r.info.labels) {
    PutString(out, k);
    PutString(out, v);
  }
  return out;
}

absl::StatusOr<Record> DecodeRecord(absl::string_view name, absl::string_view in) {
  Record r;
  r.info.name = std::string(name);
  uint64_t created, updated, inodes, size, nlabels;
  bool ok = !in.empty() && static_cast<uint8_t>(in[0]) == kRecordVersion;
  if (ok) in.remove_prefix(1);
  ok = ok && GetString(in, r.id) && !in.empty();
  if (ok) {
    r.info.kind = static_cast<Kind>(in[0]);
    in.remove_prefix(1);
  }
  ok = ok && GetString(in, r.info.parent) && GetVarint(in, created) && GetVarint(in, updated) &&
       GetVarint(in, inodes) && GetVarint(in, size) && GetVarint(in, nlabels);
  for (uint64_t i = 0; ok && i < nlabels; ++i) {
    std::string k, v;
    ok = GetString(in, k) && GetString(in, v);
    r.info.labels.emplace(std::move(k), std::move(v));
  }
  if (!ok) {
    return absl::DataLossError(absl::StrCat("snapshot metadata of `", name, "` is corrupt"));
  }
  r.info.created_at = absl::FromUnixNanos(static_cast<int64_t>(created));
  r.info.updated_at = absl::FromUnixNanos(static_cast<int64_t>(updated));
  r.usage.inodes = static_cast<int64_t>(inodes);
  r.usage.size = static_cast<int64_t>(size);
  return r;
}

// Labels with empty values are not stored (containerd's boltutil.WriteLabels).
void DropEmptyLabels(Labels& labels) {
  for (auto it = labels.begin(); it != labels.end();) {
    it = it->second.empty() ? labels.erase(it) : std::next(it);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// MetaStore

absl::StatusOr<std::unique_ptr<MetaStore>> MetaStore::Open(const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.env = SizedWalEnv();  // cheaper synced appends (rocksdb_wal_env.h)
  // A handful of small records: keep the footprint small.
  options.max_open_files = 64;
  options.keep_log_file_num = 2;
  options.max_manifest_file_size = 4 << 20;
  options.write_buffer_size = 4 << 20;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, &raw);
  if (!s.ok()) return FromRocksDb(s, absl::StrCat("open snapshot metadata `", path, "`"));
  return std::unique_ptr<MetaStore>(new MetaStore(std::unique_ptr<rocksdb::DB>(raw)));
}

MetaStore::MetaStore(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}

MetaStore::~MetaStore() {
  if (db_ != nullptr) (void)db_->Close();
}

absl::Status MetaStore::View(absl::FunctionRef<absl::Status(Transaction&)> fn) {
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  Transaction txn(db_.get(), snapshot, /*writable=*/false);
  absl::Status status = fn(txn);
  db_->ReleaseSnapshot(snapshot);
  return status;
}

absl::Status MetaStore::Update(absl::FunctionRef<absl::Status(Transaction&)> fn,
                              Durability durability) {
  absl::MutexLock lock(&write_mu_);
  Transaction txn(db_.get(), nullptr, /*writable=*/true);
  RETURN_IF_ERROR(fn(txn));
  return txn.Commit(durability);
}

// ---------------------------------------------------------------------------------------------
// Transaction: primitives

MetaStore::Transaction::Transaction(rocksdb::DB* db, const rocksdb::Snapshot* snapshot,
                                    bool writable)
    : db_(db),
      snapshot_(snapshot),
      writable_(writable),
      batch_(std::make_unique<rocksdb::WriteBatchWithIndex>(rocksdb::BytewiseComparator(), 0,
                                                            /*overwrite_key=*/true)) {}

MetaStore::Transaction::~Transaction() = default;

absl::StatusOr<std::string> MetaStore::Transaction::Get(absl::string_view key) {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  std::string value;
  rocksdb::Status s =
      batch_->GetFromBatchAndDB(db_, ro, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return absl::NotFoundError(absl::StrCat("`", key, "`: not found"));
  if (!s.ok()) return FromRocksDb(s, "read snapshot metadata");
  return value;
}

absl::Status MetaStore::Transaction::Put(absl::string_view key, absl::string_view value) {
  if (!writable_) return absl::InternalError("write in a read-only snapshot metadata view");
  return FromRocksDb(batch_->Put(rocksdb::Slice(key.data(), key.size()),
                                 rocksdb::Slice(value.data(), value.size())),
                     "write snapshot metadata");
}

absl::Status MetaStore::Transaction::Delete(absl::string_view key) {
  if (!writable_) return absl::InternalError("write in a read-only snapshot metadata view");
  return FromRocksDb(batch_->Delete(rocksdb::Slice(key.data(), key.size())),
                     "write snapshot metadata");
}

absl::Status MetaStore::Transaction::Scan(
    absl::string_view prefix,
    absl::FunctionRef<absl::Status(absl::string_view, absl::string_view)> fn) {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  std::unique_ptr<rocksdb::Iterator> it(batch_->NewIteratorWithBase(db_->NewIterator(ro)));
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
    absl::string_view key(it->key().data(), it->key().size());
    if (!absl::StartsWith(key, prefix)) break;
    RETURN_IF_ERROR(fn(key, absl::string_view(it->value().data(), it->value().size())));
  }
  return FromRocksDb(it->status(), "scan snapshot metadata");
}

absl::Status MetaStore::Transaction::Commit(Durability durability) {
  if (batch_->GetWriteBatch()->Count() == 0) return absl::OkStatus();
  rocksdb::WriteOptions wo;
  wo.sync = durability == Durability::kSynced;
  return FromRocksDb(db_->Write(wo, batch_->GetWriteBatch()), "commit snapshot metadata");
}

absl::Status MetaStore::Transaction::PutRecord(absl::string_view key, const Record& record) {
  return Put(SnapshotKey(key), EncodeRecord(record));
}

absl::StatusOr<bool> MetaStore::Transaction::HasChildren(absl::string_view id) {
  bool found = false;
  absl::Status status = Scan(ChildPrefix(id), [&](absl::string_view, absl::string_view) {
    found = true;
    return absl::CancelledError();  // stops the scan at the first child
  });
  if (!status.ok() && !found) return status;
  return found;
}

// ---------------------------------------------------------------------------------------------
// Transaction: snapshot operations

absl::StatusOr<Record> MetaStore::Transaction::GetInfo(absl::string_view key) {
  absl::StatusOr<std::string> value = Get(SnapshotKey(key));
  if (absl::IsNotFound(value.status())) return NotFound(absl::StrCat("snapshot `", key, "`"));
  if (!value.ok()) return value.status();
  return DecodeRecord(key, *value);
}

absl::StatusOr<Snapshot> MetaStore::Transaction::GetSnapshot(absl::string_view key) {
  ASSIGN_OR_RETURN(Record record, GetInfo(key));
  if (record.info.kind != Kind::kActive && record.info.kind != Kind::kView) {
    return FailedPrecondition(absl::StrCat("snapshot `", key, "` is not active or view"));
  }
  Snapshot s{record.id, record.info.kind, {}};
  for (std::string parent = record.info.parent; !parent.empty();) {
    if (s.parent_ids.size() > kMaxChainLength) {
      return absl::DataLossError(absl::StrCat("parent chain of `", key, "` does not end"));
    }
    absl::StatusOr<Record> p = GetInfo(parent);
    if (!p.ok()) return Annotate(p.status(), absl::StrCat("parent chain of `", key, "`"));
    s.parent_ids.push_back(p->id);
    parent = p->info.parent;
  }
  return s;
}

absl::StatusOr<Snapshot> MetaStore::Transaction::CreateSnapshot(Kind kind, absl::string_view key,
                                                                absl::string_view parent,
                                                                const Labels& labels) {
  if (kind != Kind::kActive && kind != Kind::kView) {
    return InvalidArgument(absl::StrCat("snapshot kind ", KindName(kind),
                                        ": only active and view snapshots can be created"));
  }
  if (key.empty()) return InvalidArgument("snapshot key is empty");
  if (absl::StatusOr<std::string> existing = Get(SnapshotKey(key)); existing.ok()) {
    return AlreadyExists(absl::StrCat("snapshot `", key, "`"));
  } else if (!absl::IsNotFound(existing.status())) {
    return existing.status();
  }
  std::string parent_id;
  if (!parent.empty()) {
    absl::StatusOr<Record> p = GetInfo(parent);
    if (!p.ok()) return Annotate(p.status(), "parent");
    if (p->info.kind != Kind::kCommitted) {
      return InvalidArgument(absl::StrCat("parent `", parent, "` is not a committed snapshot"));
    }
    parent_id = p->id;
  }
  absl::StatusOr<std::string> seq = Get(kSeqKey);
  if (absl::IsNotFound(seq.status())) seq = "0";
  if (!seq.ok()) return seq.status();
  uint64_t next = 0;
  if (!absl::SimpleAtoi(*seq, &next)) return absl::DataLossError("snapshot id sequence is corrupt");
  Record record;
  record.id = absl::StrCat(next + 1);
  RETURN_IF_ERROR(Put(kSeqKey, record.id));
  record.info.kind = kind;
  record.info.name = std::string(key);
  record.info.parent = std::string(parent);
  record.info.labels = labels;
  DropEmptyLabels(record.info.labels);
  record.info.created_at = record.info.updated_at = absl::Now();
  RETURN_IF_ERROR(PutRecord(key, record));
  if (!parent_id.empty()) {
    RETURN_IF_ERROR(Put(ChildKey(parent_id, record.id), key));
  }
  // The new snapshot's ancestry, read back through the batch.
  ASSIGN_OR_RETURN(Snapshot created, GetSnapshot(key));
  return created;
}

absl::StatusOr<std::string> MetaStore::Transaction::CommitActive(absl::string_view key,
                                                                 absl::string_view name,
                                                                 const snapshotter::Usage& usage,
                                                                 const Labels& labels) {
  if (name.empty()) return InvalidArgument("committed snapshot name is empty");
  ASSIGN_OR_RETURN(Record record, GetInfo(key));
  if (record.info.kind != Kind::kActive) {
    return FailedPrecondition(absl::StrCat("snapshot `", key, "` is not active"));
  }
  if (absl::StatusOr<std::string> existing = Get(SnapshotKey(name)); existing.ok()) {
    return AlreadyExists(absl::StrCat("snapshot `", name, "`"));
  } else if (!absl::IsNotFound(existing.status())) {
    return existing.status();
  }
  record.info.kind = Kind::kCommitted;
  record.info.name = std::string(name);
  record.info.labels = labels;
  DropEmptyLabels(record.info.labels);
  record.info.created_at = record.info.updated_at = absl::Now();
  record.usage = usage;
  RETURN_IF_ERROR(Delete(SnapshotKey(key)));
  RETURN_IF_ERROR(PutRecord(name, record));
  if (!record.info.parent.empty()) {
    ASSIGN_OR_RETURN(Record parent, GetInfo(record.info.parent));
    RETURN_IF_ERROR(Put(ChildKey(parent.id, record.id), name));
  }
  return record.id;
}

absl::StatusOr<std::pair<std::string, Kind>> MetaStore::Transaction::Remove(absl::string_view key) {
  ASSIGN_OR_RETURN(Record record, GetInfo(key));
  ASSIGN_OR_RETURN(bool has_children, HasChildren(record.id));
  if (has_children) {
    return FailedPrecondition(absl::StrCat("remove snapshot `", key, "`: it has children"));
  }
  if (!record.info.parent.empty()) {
    ASSIGN_OR_RETURN(Record parent, GetInfo(record.info.parent));
    RETURN_IF_ERROR(Delete(ChildKey(parent.id, record.id)));
  }
  RETURN_IF_ERROR(Delete(SnapshotKey(key)));
  return std::make_pair(record.id, record.info.kind);
}

absl::StatusOr<SnapshotInfo> MetaStore::Transaction::UpdateInfo(
    const SnapshotInfo& info, absl::Span<const std::string> fieldpaths) {
  ASSIGN_OR_RETURN(Record record, GetInfo(info.name));
  Labels labels = record.info.labels;
  if (fieldpaths.empty()) {
    labels = info.labels;
  }
  for (const std::string& path : fieldpaths) {
    if (path == "labels") {
      labels = info.labels;
    } else if (absl::StartsWith(path, "labels.")) {
      std::string label = path.substr(7);
      auto it = info.labels.find(label);
      if (it == info.labels.end()) {
        labels.erase(label);
      } else {
        labels[label] = it->second;
      }
    } else {
      return InvalidArgument(
          absl::StrCat("cannot update `", path, "` field on snapshot `", info.name, "`"));
    }
  }
  DropEmptyLabels(labels);
  record.info.labels = std::move(labels);
  record.info.updated_at = absl::Now();
  RETURN_IF_ERROR(PutRecord(info.name, record));
  return record.info;
}

absl::Status MetaStore::Transaction::WalkInfo(absl::FunctionRef<absl::Status(const Record&)> fn) {
  return Scan(kSnapshotPrefix, [&](absl::string_view key, absl::string_view value) {
    ASSIGN_OR_RETURN(Record record, DecodeRecord(key.substr(kSnapshotPrefix.size()), value));
    return fn(record);
  });
}

absl::StatusOr<absl::flat_hash_map<std::string, std::string>> MetaStore::Transaction::IdMap() {
  absl::flat_hash_map<std::string, std::string> ids;
  RETURN_IF_ERROR(WalkInfo([&](const Record& record) {
    ids[record.id] = record.info.name;
    return absl::OkStatus();
  }));
  return ids;
}

absl::StatusOr<Record> MetaStore::GetInfo(absl::string_view key) {
  Record record;
  RETURN_IF_ERROR(View([&](Transaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(record, txn.GetInfo(key));
    return absl::OkStatus();
  }));
  return record;
}

absl::StatusOr<Snapshot> MetaStore::GetSnapshot(absl::string_view key) {
  Snapshot snapshot;
  RETURN_IF_ERROR(View([&](Transaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(snapshot, txn.GetSnapshot(key));
    return absl::OkStatus();
  }));
  return snapshot;
}

absl::StatusOr<SnapshotInfo> MetaStore::UpdateInfo(const SnapshotInfo& info,
                                                   absl::Span<const std::string> fieldpaths) {
  SnapshotInfo updated;
  RETURN_IF_ERROR(Update([&](Transaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(updated, txn.UpdateInfo(info, fieldpaths));
    return absl::OkStatus();
  }));
  return updated;
}

}  // namespace berth::snapshotter::storage
