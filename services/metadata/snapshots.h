#pragma once

// Snapshots in the metadata database: namespaces, labels, parent/child links and leases over a
// namespace-unaware Snapshotter backend (containerd metadata/snapshot.go).
//
// A client's key `k` in namespace `ns` names the backend snapshot "<ns>/<seq>/<k>" (seq unique
// per snapshot, so the same key in two namespaces never collides in the shared backend). The
// record v1/<ns>/snapshots/<snapshotter>/<key> (berth.metadata.v1.Snapshot) holds the backend
// key, the client's parent key, kind, labels and times; v1/<ns>/snapshot_children/
// <snapshotter>/<parent>/<child> lists children so Remove can refuse a parent in one seek.
// Backends only see labels under "containerd.io/snapshot/" (inherited labels, as containerd).
//
// Consistency: checks run in one transaction, the backend call outside any database lock,
// and the record is written in a second transaction that checks again; if that fails the
// backend snapshot is undone. Remove deletes the record first and then the backend snapshot (a
// failing backend remove is logged). A backend snapshot no record refers to (a daemon killed
// between the two steps, a failed remove) is the garbage collector's: RemoveOrphans takes it.
//
// Errors are containerd's: "snapshot \"k\": already exists", "snapshot k does not exist:
// not found", "parent snapshot p does not exist: not found", "cannot remove snapshot with
// child: failed precondition", "cannot update \"f\" field on snapshot \"k\": invalid argument".

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/metadata/db.h"
#include "services/metadata/gc.h"
#include "snapshotter/snapshotter.h"

namespace berth::metadata {

using snapshotter::Labels;
using snapshotter::SnapshotInfo;

inline constexpr char kInheritedLabelPrefix[] = "containerd.io/snapshot/";

class SnapshotStore {
 public:
  // `name` is the snapshotter's plugin id ("overlayfs"); `backend` must outlive the store.
  SnapshotStore(Db& db, std::string name, snapshotter::Snapshotter& backend);

  const std::string& name() const { return name_; }
  snapshotter::Snapshotter& backend() { return backend_; }

  absl::StatusOr<SnapshotInfo> Stat(const std::string& ns, absl::string_view key);
  absl::StatusOr<SnapshotInfo> Update(const std::string& ns, const SnapshotInfo& info,
                                      absl::Span<const std::string> fieldpaths);
  absl::StatusOr<snapshotter::Usage> Usage(const std::string& ns, absl::string_view key);
  absl::StatusOr<std::vector<snapshotter::Mount>> Mounts(const std::string& ns,
                                                         absl::string_view key);
  // `lease`: when set, the new snapshot is added to that lease (NotFound if it does not exist).
  absl::StatusOr<std::vector<snapshotter::Mount>> Prepare(const std::string& ns,
                                                          absl::string_view key,
                                                          absl::string_view parent,
                                                          const Labels& labels,
                                                          const std::optional<std::string>& lease);
  absl::StatusOr<std::vector<snapshotter::Mount>> View(const std::string& ns, absl::string_view key,
                                                       absl::string_view parent,
                                                       const Labels& labels,
                                                       const std::optional<std::string>& lease);
  absl::Status Commit(const std::string& ns, absl::string_view name, absl::string_view key,
                      const Labels& labels, const std::optional<std::string>& lease);
  absl::Status Remove(const std::string& ns, absl::string_view key);
  // Calls fn for each snapshot of `ns` in key order, stopping at the first error.
  absl::Status Walk(const std::string& ns,
                    absl::FunctionRef<absl::Status(const SnapshotInfo&)> fn);
  // Snapshots.Cleanup: the orphans first (their directories are the backend's to reclaim
  // only once their records are gone), then the backend's own leftovers.
  absl::Status Cleanup();
  // Removes every backend snapshot of this store's key format ("<ns>/<seq>/<key>") that no
  // record of any namespace refers to, children before parents; returns how many went.
  // Snapshots of other formats (made on the backend directly) are left alone.
  absl::StatusOr<int> RemoveOrphans() ABSL_LOCKS_EXCLUDED(backend_mu_);
  // RemoveOrphans if there can be any: once after start-up (a crash may have left some), and
  // after a backend remove failed. What the garbage collector calls each time.
  absl::StatusOr<int> RemoveOrphansIfAny() ABSL_LOCKS_EXCLUDED(backend_mu_);

 private:
  absl::StatusOr<std::vector<snapshotter::Mount>> Create(snapshotter::Kind kind,
                                                         const std::string& ns,
                                                         absl::string_view key,
                                                         absl::string_view parent,
                                                         const Labels& labels,
                                                         const std::optional<std::string>& lease);
  std::string NextBackendKey(absl::string_view ns, absl::string_view key);
  // The backend keys RemoveOrphans takes, decided under backend_mu_ held exclusively.
  absl::StatusOr<std::vector<std::string>> FindOrphans() ABSL_LOCKS_EXCLUDED(backend_mu_);

  Db& db_;
  const std::string name_;
  snapshotter::Snapshotter& backend_;
  std::atomic<uint64_t> seq_;
  // Held shared while a backend snapshot and the records may disagree (Create and Commit
  // from the backend call to the record's commit, Remove from the record's removal to the
  // backend's), exclusively by FindOrphans: it never picks a snapshot in flight.
  absl::Mutex backend_mu_;
  // Set at start-up and whenever a backend snapshot could not be removed.
  std::atomic<bool> orphans_possible_{true};
};

// Every loaded snapshotter's SnapshotStore, by plugin id (the plugin
// io.containerd.service.v1.snapshots-service holds one). It is also the garbage collector's
// view of snapshots: Walk lists a namespace's records in the collector's read transaction and
// Remove deletes one through its store, which refuses a snapshot that has children.
class SnapshotStores final : public SnapshotGcHook {
 public:
  SnapshotStores() = default;
  ~SnapshotStores() override {
    if (collector_ != nullptr) collector_->SetSnapshotHook(nullptr);
  }
  SnapshotStores(const SnapshotStores&) = delete;
  SnapshotStores& operator=(const SnapshotStores&) = delete;

  // Lets `collector` sweep unreachable snapshots until these stores are destroyed.
  void AttachTo(Collector& collector) {
    collector_ = &collector;
    collector.SetSnapshotHook(this);
  }

  void Add(std::unique_ptr<SnapshotStore> store) {
    std::string name = store->name();
    stores_.emplace(std::move(name), std::move(store));
  }
  // InvalidArgument as containerd words it: "snapshotter argument missing" for an empty name,
  // "snapshotter not loaded: <name>" for an unknown one.
  absl::StatusOr<SnapshotStore*> Get(absl::string_view name) const;
  const std::map<std::string, std::unique_ptr<SnapshotStore>>& all() const { return stores_; }

  absl::Status Walk(Txn& txn, const std::string& ns,
                    const std::function<void(const Snapshot&)>& fn) override;
  absl::Status Remove(const std::string& ns, const std::string& snapshotter,
                      const std::string& key) override;
  absl::StatusOr<int> RemoveOrphanedBackends() override;

 private:
  std::map<std::string, std::unique_ptr<SnapshotStore>> stores_;
  Collector* collector_ = nullptr;
};

// The Snapshotter interface over one namespace of a SnapshotStore (for code written against
// Snapshotter, and for the conformance suite). Optionally adds everything it creates to a lease.
class NamespacedSnapshotter final : public snapshotter::Snapshotter {
 public:
  NamespacedSnapshotter(SnapshotStore& store, std::string ns,
                        std::optional<std::string> lease = std::nullopt)
      : store_(store), ns_(std::move(ns)), lease_(std::move(lease)) {}

  absl::StatusOr<SnapshotInfo> Stat(absl::string_view key) override {
    return store_.Stat(ns_, key);
  }
  absl::StatusOr<SnapshotInfo> Update(const SnapshotInfo& info,
                                      absl::Span<const std::string> fieldpaths) override {
    return store_.Update(ns_, info, fieldpaths);
  }
  absl::StatusOr<snapshotter::Usage> Usage(absl::string_view key) override {
    return store_.Usage(ns_, key);
  }
  absl::StatusOr<std::vector<snapshotter::Mount>> Mounts(absl::string_view key) override {
    return store_.Mounts(ns_, key);
  }
  absl::StatusOr<std::vector<snapshotter::Mount>> Prepare(absl::string_view key,
                                                          absl::string_view parent,
                                                          const Labels& labels) override {
    return store_.Prepare(ns_, key, parent, labels, lease_);
  }
  absl::StatusOr<std::vector<snapshotter::Mount>> View(absl::string_view key,
                                                       absl::string_view parent,
                                                       const Labels& labels) override {
    return store_.View(ns_, key, parent, labels, lease_);
  }
  absl::Status Commit(absl::string_view name, absl::string_view key,
                      const Labels& labels) override {
    return store_.Commit(ns_, name, key, labels, lease_);
  }
  absl::Status Remove(absl::string_view key) override { return store_.Remove(ns_, key); }
  absl::Status Walk(absl::FunctionRef<absl::Status(const SnapshotInfo&)> fn) override {
    return store_.Walk(ns_, fn);
  }
  absl::Status Cleanup() override { return store_.Cleanup(); }
  std::optional<snapshotter::ChangeDirFormat> SeparateChangeDirs() const override {
    return store_.backend().SeparateChangeDirs();
  }

 private:
  SnapshotStore& store_;
  const std::string ns_;
  const std::optional<std::string> lease_;
};

}  // namespace berth::metadata
