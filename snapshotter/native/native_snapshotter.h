#pragma once

// NativeSnapshotter: the plain copy-based snapshotter (containerd snapshots/native), the
// fallback where overlayfs is missing and the second backend of the conformance suite.
//
// On-disk layout under `root`:
//
//   <root>/metadata/            MetaStore (RocksDB)
//   <root>/snapshots/<id>/      the snapshot's complete tree; Prepare copies the parent's
//                               tree here (owners, modes, times, xattrs, links, devices)
//   <root>/snapshots/new-XXXXXX a snapshot being created; renamed to <id> when complete
//
// Mounts: one bind mount. Active: {bind, snapshots/<id>, [rbind, rw]}. View: a read-only bind
// of the parent's tree (no copy), or of an empty directory when there is no parent.
// Usage measures the whole tree of an active snapshot (it holds a full copy).
// Thread-safe; mutations are serialized by the MetaStore (a Prepare copies under that lock).

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "snapshotter/snapshotter.h"
#include "snapshotter/storage/metastore.h"

namespace berth::snapshotter::native {

class NativeSnapshotter final : public Snapshotter {
 public:
  // Creates `root` if needed and opens the metadata. Works on any filesystem.
  static absl::StatusOr<std::unique_ptr<NativeSnapshotter>> Create(const std::string& root);
  ~NativeSnapshotter() override;

  absl::StatusOr<SnapshotInfo> Stat(absl::string_view key) override;
  absl::StatusOr<SnapshotInfo> Update(const SnapshotInfo& info,
                                      absl::Span<const std::string> fieldpaths) override;
  absl::StatusOr<snapshotter::Usage> Usage(absl::string_view key) override;
  absl::StatusOr<std::vector<Mount>> Mounts(absl::string_view key) override;
  absl::StatusOr<std::vector<Mount>> Prepare(absl::string_view key, absl::string_view parent,
                                             const Labels& labels) override;
  absl::StatusOr<std::vector<Mount>> View(absl::string_view key, absl::string_view parent,
                                          const Labels& labels) override;
  absl::Status Commit(absl::string_view name, absl::string_view key, const Labels& labels) override;
  absl::Status Remove(absl::string_view key) override;
  absl::Status Walk(absl::FunctionRef<absl::Status(const SnapshotInfo&)> fn) override;
  absl::Status Cleanup() override;

  const std::string& root() const { return root_; }

 private:
  NativeSnapshotter(std::string root, std::unique_ptr<storage::MetaStore> ms);

  absl::StatusOr<std::vector<Mount>> CreateSnapshot(Kind kind, absl::string_view key,
                                                    absl::string_view parent, const Labels& labels);
  std::vector<Mount> MountsFor(const storage::Snapshot& s) const;
  std::string SnapshotsDir() const;
  std::string SnapshotDir(absl::string_view id) const;

  const std::string root_;
  const std::unique_ptr<storage::MetaStore> ms_;
};

}  // namespace berth::snapshotter::native
