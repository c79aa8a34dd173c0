#include "services/metadata/snapshots.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "berth/metadata/v1/snapshots.pb.h"
#include "plugins/base/identifiers.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "services/metadata/namespaces.h"
#include "services/metadata/records.h"
#include "services/metadata/schema.h"

namespace berth::metadata {
namespace {

using Record = berth::metadata::v1::Snapshot;
using snapshotter::Kind;

std::string RecordKey(absl::string_view ns, absl::string_view sn, absl::string_view key) {
  return Key("v1", ns, kSnapshotsKind, sn, key);
}
// Whether `name` has NextBackendKey's form "<ns>/<seq>/<key>".
bool IsBackendKey(absl::string_view name) {
  std::vector<absl::string_view> parts = absl::StrSplit(name, absl::MaxSplits('/', 2));
  return parts.size() == 3 && !parts[0].empty() && !parts[2].empty() && !parts[1].empty() &&
         std::all_of(parts[1].begin(), parts[1].end(), absl::ascii_isdigit);
}
std::string ChildKey(absl::string_view ns, absl::string_view sn, absl::string_view parent,
                     absl::string_view child) {
  return Key("v1", ns, kSnapshotChildrenKind, sn, parent, child);
}
std::string ChildrenPrefix(absl::string_view ns, absl::string_view sn, absl::string_view parent) {
  return Key("v1", ns, kSnapshotChildrenKind, sn, parent, "");
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t nanos = absl::ToUnixNanos(t);
  ts.set_seconds(nanos / 1000000000);
  ts.set_nanos(static_cast<int32_t>(nanos % 1000000000));
  return ts;
}
absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

SnapshotInfo ToInfo(absl::string_view key, const Record& r) {
  SnapshotInfo info;
  info.kind = static_cast<Kind>(r.kind());
  info.name = std::string(key);
  info.parent = r.parent();
  info.labels = Labels(r.labels().begin(), r.labels().end());
  info.created_at = FromProto(r.created_at());
  info.updated_at = FromProto(r.updated_at());
  return info;
}

Labels Inherited(const Labels& labels) {
  Labels out;
  for (const auto& [k, v] : labels) {
    if (absl::StartsWith(k, kInheritedLabelPrefix)) out.emplace(k, v);
  }
  return out;
}

absl::Status SnapshotNotFound(absl::string_view key) {
  return NotFound(absl::StrCat("snapshot ", key, " does not exist"));
}
absl::Status SnapshotExists(absl::string_view key) {
  return AlreadyExists(absl::StrCat("snapshot \"", key, "\""));
}

absl::Status ValidateKey(absl::string_view what, absl::string_view key) {
  if (key.empty()) return InvalidArgument(absl::StrCat("snapshot ", what, " must not be empty"));
  if (key.find('\0') != absl::string_view::npos) {
    return InvalidArgument(absl::StrCat("snapshot ", what, " must not contain NUL"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Record> ReadExisting(Txn& txn, const std::string& record_key,
                                    absl::string_view key) {
  Record r;
  ASSIGN_OR_RETURN(bool found, ReadRecord(txn, record_key, r));
  if (!found) return SnapshotNotFound(key);
  return r;
}

absl::Status CheckLease(Txn& txn, absl::string_view ns, const std::optional<std::string>& lease) {
  if (!lease) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<std::string> found, txn.Get(LeaseKey(ns, *lease)));
  if (!found) return NotFound(absl::StrCat("lease \"", *lease, "\""));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SnapshotStore*> SnapshotStores::Get(absl::string_view name) const {
  if (name.empty()) return InvalidArgument("snapshotter argument missing");
  auto it = stores_.find(std::string(name));
  if (it == stores_.end()) return InvalidArgument(absl::StrCat("snapshotter not loaded: ", name));
  return it->second.get();
}

absl::Status SnapshotStores::Walk(Txn& txn, const std::string& ns,
                                  const std::function<void(const Snapshot&)>& fn) {
  for (const auto& [name, store] : stores_) {
    const std::string prefix = RecordKey(ns, name, "");
    absl::Status inner;
    RETURN_IF_ERROR(txn.Scan(prefix, [&](absl::string_view key, absl::string_view value) {
      Record r;
      if (!r.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
        inner = CorruptRecord(key);
        return false;
      }
      fn(Snapshot{name, std::string(key.substr(prefix.size())), r.parent(), r.labels()});
      return true;
    }));
    RETURN_IF_ERROR(inner);
  }
  return absl::OkStatus();
}

absl::Status SnapshotStores::Remove(const std::string& ns, const std::string& snapshotter,
                                    const std::string& key) {
  ASSIGN_OR_RETURN(SnapshotStore * store, Get(snapshotter));
  return store->Remove(ns, key);
}

absl::StatusOr<int> SnapshotStores::RemoveOrphanedBackends() {
  int removed = 0;
  for (const auto& [name, store] : stores_) {
    ASSIGN_OR_RETURN(int n, store->RemoveOrphansIfAny());
    removed += n;
  }
  return removed;
}

SnapshotStore::SnapshotStore(Db& db, std::string name, snapshotter::Snapshotter& backend)
    : db_(db),
      name_(std::move(name)),
      backend_(backend),
      seq_(static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()))) {}

std::string SnapshotStore::NextBackendKey(absl::string_view ns, absl::string_view key) {
  return absl::StrCat(ns, "/", seq_.fetch_add(1), "/", key);
}

absl::StatusOr<SnapshotInfo> SnapshotStore::Stat(const std::string& ns, absl::string_view key) {
  Record r;
  RETURN_IF_ERROR(db_.View([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(r, ReadExisting(txn, RecordKey(ns, name_, key), key));
    return absl::OkStatus();
  }));
  return ToInfo(key, r);
}

absl::StatusOr<SnapshotInfo> SnapshotStore::Update(const std::string& ns,
                                                   const SnapshotInfo& info,
                                                   absl::Span<const std::string> fieldpaths) {
  RETURN_IF_ERROR(ValidateKey("name", info.name));
  for (const std::string& path : fieldpaths) {
    if (path != "labels" && !absl::StartsWith(path, "labels.")) {
      return InvalidArgument(
          absl::StrCat("cannot update \"", path, "\" field on snapshot \"", info.name, "\""));
    }
  }
  RETURN_IF_ERROR(ValidateLabels(info.labels));
  Record r;
  std::vector<std::string> inherited_paths;
  RETURN_IF_ERROR(db_.Update([&](Txn& txn) -> absl::Status {
    const std::string record_key = RecordKey(ns, name_, info.name);
    ASSIGN_OR_RETURN(r, ReadExisting(txn, record_key, info.name));
    auto& labels = *r.mutable_labels();
    const bool replace = fieldpaths.empty() ||
                         std::find(fieldpaths.begin(), fieldpaths.end(), "labels") !=
                             fieldpaths.end();
    inherited_paths.clear();
    if (replace) {
      labels.clear();
      for (const auto& [k, v] : info.labels) labels[k] = v;
      inherited_paths.push_back("labels");
    } else {
      for (const std::string& path : fieldpaths) {
        std::string k = path.substr(strlen("labels."));
        auto it = info.labels.find(k);
        if (it == info.labels.end() || it->second.empty()) {
          labels.erase(k);
        } else {
          labels[k] = it->second;
        }
        if (absl::StartsWith(k, kInheritedLabelPrefix)) inherited_paths.push_back(path);
      }
    }
    DropEmptyValues(labels);
    *r.mutable_updated_at() = ToProto(absl::Now());
    return WriteRecord(txn, record_key, r);
  }));
  SnapshotInfo updated = ToInfo(info.name, r);
  if (!inherited_paths.empty()) {
    // Backends see only inherited labels; keep them in step (remote snapshotters use them).
    SnapshotInfo backend_info;
    backend_info.name = r.backend_key();
    backend_info.labels = Inherited(updated.labels);
    absl::Status s = backend_.Update(backend_info, inherited_paths).status();
    if (!s.ok()) {
      BERTH_LOG(WARN) << "update backend labels of snapshot " << info.name << ": " << s;
    }
  }
  return updated;
}

absl::StatusOr<snapshotter::Usage> SnapshotStore::Usage(const std::string& ns,
                                                        absl::string_view key) {
  ASSIGN_OR_RETURN(std::string bkey, [&]() -> absl::StatusOr<std::string> {
    Record r;
    RETURN_IF_ERROR(db_.View([&](Txn& txn) -> absl::Status {
      ASSIGN_OR_RETURN(r, ReadExisting(txn, RecordKey(ns, name_, key), key));
      return absl::OkStatus();
    }));
    return r.backend_key();
  }());
  return backend_.Usage(bkey);
}

absl::StatusOr<std::vector<snapshotter::Mount>> SnapshotStore::Mounts(const std::string& ns,
                                                                      absl::string_view key) {
  Record r;
  RETURN_IF_ERROR(db_.View([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(r, ReadExisting(txn, RecordKey(ns, name_, key), key));
    return absl::OkStatus();
  }));
  if (r.kind() == static_cast<int>(Kind::kCommitted)) {
    return FailedPrecondition(
        absl::StrCat("requested snapshot ", key, " not active or view"));
  }
  return backend_.Mounts(r.backend_key());
}

absl::StatusOr<std::vector<snapshotter::Mount>> SnapshotStore::Prepare(
    const std::string& ns, absl::string_view key, absl::string_view parent,
    const Labels& labels, const std::optional<std::string>& lease) {
  return Create(Kind::kActive, ns, key, parent, labels, lease);
}

absl::StatusOr<std::vector<snapshotter::Mount>> SnapshotStore::View(
    const std::string& ns, absl::string_view key, absl::string_view parent,
    const Labels& labels, const std::optional<std::string>& lease) {
  return Create(Kind::kView, ns, key, parent, labels, lease);
}

absl::StatusOr<std::vector<snapshotter::Mount>> SnapshotStore::Create(
    Kind kind, const std::string& ns, absl::string_view key, absl::string_view parent,
    const Labels& labels, const std::optional<std::string>& lease) {
  RETURN_IF_ERROR(ValidateKey("key", key));
  RETURN_IF_ERROR(ValidateLabels(labels));
  const std::string record_key = RecordKey(ns, name_, key);
  // Checks the key is free and the parent committed; returns the parent's backend key.
  auto check = [&](Txn& txn, std::string& bparent) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<std::string> existing, txn.Get(record_key));
    if (existing) return SnapshotExists(key);
    if (!parent.empty()) {
      Record p;
      ASSIGN_OR_RETURN(bool found, ReadRecord(txn, RecordKey(ns, name_, parent), p));
      if (!found) return NotFound(absl::StrCat("parent snapshot ", parent, " does not exist"));
      if (p.kind() != static_cast<int>(Kind::kCommitted)) {
        return InvalidArgument(absl::StrCat("parent snapshot \"", parent, "\" is not committed"));
      }
      bparent = p.backend_key();
    }
    return CheckLease(txn, ns, lease);
  };
  std::string bparent;
  RETURN_IF_ERROR(db_.View([&](Txn& txn) { return check(txn, bparent); }));

  const std::string bkey = NextBackendKey(ns, key);
  absl::ReaderMutexLock in_flight(&backend_mu_);
  std::vector<snapshotter::Mount> mounts;
  if (kind == Kind::kView) {
    ASSIGN_OR_RETURN(mounts, backend_.View(bkey, bparent, Inherited(labels)));
  } else {
    ASSIGN_OR_RETURN(mounts, backend_.Prepare(bkey, bparent, Inherited(labels)));
  }
  absl::Cleanup undo = [&] {
    if (absl::Status s = backend_.Remove(bkey); !s.ok()) {
      BERTH_LOG(WARN) << "undo backend snapshot " << bkey << ": " << s;
      orphans_possible_ = true;
    }
  };
  Record r;
  r.set_backend_key(bkey);
  r.set_parent(std::string(parent));
  r.set_kind(static_cast<int>(kind));
  for (const auto& [k, v] : labels) (*r.mutable_labels())[k] = v;
  DropEmptyValues(*r.mutable_labels());
  *r.mutable_created_at() = ToProto(absl::Now());
  *r.mutable_updated_at() = r.created_at();
  RETURN_IF_ERROR(db_.Update([&](Txn& txn) -> absl::Status {
    std::string bparent_now;
    RETURN_IF_ERROR(check(txn, bparent_now));
    if (bparent_now != bparent) return NotFound(absl::StrCat("parent snapshot ", parent));
    RETURN_IF_ERROR(EnsureNamespace(txn, ns));
    RETURN_IF_ERROR(WriteRecord(txn, record_key, r));
    if (!parent.empty()) RETURN_IF_ERROR(txn.Put(ChildKey(ns, name_, parent, key), ""));
    if (lease) {
      RETURN_IF_ERROR(
          txn.Put(LeaseResourceKey(ns, *lease, absl::StrCat("snapshots/", name_), key), ""));
    }
    return absl::OkStatus();
  }));
  std::move(undo).Cancel();
  return mounts;
}

absl::Status SnapshotStore::Commit(const std::string& ns, absl::string_view name,
                                   absl::string_view key, const Labels& labels,
                                   const std::optional<std::string>& lease) {
  RETURN_IF_ERROR(ValidateKey("name", name));
  RETURN_IF_ERROR(ValidateKey("key", key));
  RETURN_IF_ERROR(ValidateLabels(labels));
  const std::string record_key = RecordKey(ns, name_, key);
  const std::string name_key = RecordKey(ns, name_, name);
  auto check = [&](Txn& txn, Record& active) -> absl::Status {
    ASSIGN_OR_RETURN(active, ReadExisting(txn, record_key, key));
    if (active.kind() != static_cast<int>(Kind::kActive)) {
      return FailedPrecondition(absl::StrCat("snapshot ", key, " is not active"));
    }
    ASSIGN_OR_RETURN(std::optional<std::string> existing, txn.Get(name_key));
    if (existing) return SnapshotExists(name);
    return CheckLease(txn, ns, lease);
  };
  Record active;
  RETURN_IF_ERROR(db_.View([&](Txn& txn) { return check(txn, active); }));

  const std::string bname = NextBackendKey(ns, name);
  absl::ReaderMutexLock in_flight(&backend_mu_);
  RETURN_IF_ERROR(backend_.Commit(bname, active.backend_key(), Inherited(labels)));
  Record r;
  r.set_backend_key(bname);
  r.set_parent(active.parent());
  r.set_kind(static_cast<int>(Kind::kCommitted));
  for (const auto& [k, v] : labels) (*r.mutable_labels())[k] = v;
  DropEmptyValues(*r.mutable_labels());
  *r.mutable_created_at() = ToProto(absl::Now());
  *r.mutable_updated_at() = r.created_at();
  absl::Status status = db_.Update([&](Txn& txn) -> absl::Status {
    Record now;
    RETURN_IF_ERROR(check(txn, now));
    if (now.backend_key() != active.backend_key()) return SnapshotNotFound(key);
    RETURN_IF_ERROR(txn.Delete(record_key));
    RETURN_IF_ERROR(WriteRecord(txn, name_key, r));
    if (!r.parent().empty()) {
      RETURN_IF_ERROR(txn.Delete(ChildKey(ns, name_, r.parent(), key)));
      RETURN_IF_ERROR(txn.Put(ChildKey(ns, name_, r.parent(), name), ""));
    }
    if (lease) {
      RETURN_IF_ERROR(
          txn.Put(LeaseResourceKey(ns, *lease, absl::StrCat("snapshots/", name_), name), ""));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) {
    // The backend has committed; its snapshot is unreachable now and is removed.
    BERTH_LOG(ERROR) << "commit " << key << " -> " << name << ": " << status;
    if (!backend_.Remove(bname).ok()) orphans_possible_ = true;
  }
  return status;
}

absl::Status SnapshotStore::Remove(const std::string& ns, absl::string_view key) {
  RETURN_IF_ERROR(ValidateKey("key", key));
  std::string bkey;
  absl::ReaderMutexLock in_flight(&backend_mu_);
  RETURN_IF_ERROR(db_.Update([&](Txn& txn) -> absl::Status {
    const std::string record_key = RecordKey(ns, name_, key);
    ASSIGN_OR_RETURN(Record r, ReadExisting(txn, record_key, key));
    ASSIGN_OR_RETURN(bool has_children, txn.HasPrefix(ChildrenPrefix(ns, name_, key)));
    if (has_children) return FailedPrecondition("cannot remove snapshot with child");
    RETURN_IF_ERROR(txn.Delete(record_key));
    if (!r.parent().empty()) {
      // Locks the parent's record so a concurrent Remove of the parent sees this child go.
      RETURN_IF_ERROR(txn.Get(RecordKey(ns, name_, r.parent())).status());
      RETURN_IF_ERROR(txn.Delete(ChildKey(ns, name_, r.parent(), key)));
    }
    bkey = r.backend_key();
    return absl::OkStatus();
  }));
  if (absl::Status s = backend_.Remove(bkey); !s.ok()) {
    BERTH_LOG(WARN) << "remove backend snapshot " << bkey << " of " << key << ": " << s;
    orphans_possible_ = true;
  }
  return absl::OkStatus();
}

absl::StatusOr<int> SnapshotStore::RemoveOrphansIfAny() {
  if (!orphans_possible_.exchange(false)) return 0;
  absl::StatusOr<int> removed = RemoveOrphans();
  if (!removed.ok()) orphans_possible_ = true;  // the next collection tries again
  return removed;
}

absl::StatusOr<int> SnapshotStore::RemoveOrphans() {
  ASSIGN_OR_RETURN(std::vector<std::string> orphans, FindOrphans());
  // Outside the lock: an orphan's key is never used again (keys carry a sequence number), so
  // nothing can come to refer to it while it goes.
  ASSIGN_OR_RETURN(int removed,
                   RemoveInPasses(std::move(orphans),
                                  [&](const std::string& bkey) { return backend_.Remove(bkey); }));
  if (removed > 0) {
    BERTH_LOG(INFO) << "removed " << removed << " orphaned " << name_ << " snapshots";
  }
  return removed;
}

absl::Status SnapshotStore::Cleanup() {
  RETURN_IF_ERROR(RemoveOrphans().status());
  return backend_.Cleanup();
}

absl::StatusOr<std::vector<std::string>> SnapshotStore::FindOrphans() {
  absl::WriterMutexLock no_flight(&backend_mu_);
  absl::flat_hash_set<std::string> referenced;
  RETURN_IF_ERROR(db_.View([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<std::string> namespaces, NamespaceNames(txn));
    for (const std::string& ns : namespaces) {
      absl::Status corrupt;
      RETURN_IF_ERROR(txn.Scan(RecordKey(ns, name_, ""), [&](absl::string_view key,
                                                             absl::string_view value) {
        Record r;
        if (!r.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          corrupt = CorruptRecord(key);
          return false;
        }
        referenced.insert(r.backend_key());
        return true;
      }));
      // A record that cannot be read may name any backend snapshot: take none.
      RETURN_IF_ERROR(corrupt);
    }
    return absl::OkStatus();
  }));
  std::vector<std::string> orphans;
  RETURN_IF_ERROR(backend_.Walk([&](const SnapshotInfo& info) {
    if (IsBackendKey(info.name) && !referenced.contains(info.name)) orphans.push_back(info.name);
    return absl::OkStatus();
  }));
  return orphans;
}

absl::Status SnapshotStore::Walk(const std::string& ns,
                                 absl::FunctionRef<absl::Status(const SnapshotInfo&)> fn) {
  const std::string prefix = RecordKey(ns, name_, "");
  absl::Status inner;
  RETURN_IF_ERROR(db_.View([&](Txn& txn) {
    return txn.Scan(prefix, [&](absl::string_view key, absl::string_view value) {
      Record r;
      if (!r.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
        inner = CorruptRecord(key);
        return false;
      }
      inner = fn(ToInfo(key.substr(prefix.size()), r));
      return inner.ok();
    });
  }));
  return inner;
}

}  // namespace berth::metadata
