#pragma once

// OverlaySnapshotter: the default snapshotter, on overlayfs (containerd snapshots/overlay).
//
// On-disk layout under `root`:
//
//   <root>/metadata/             MetaStore (RocksDB): keys, kinds, parents, labels, usage
//   <root>/snapshots/<id>/fs     the snapshot's own files: the overlay upper dir while active,
//                                a lower dir once committed
//   <root>/snapshots/<id>/work   overlay work dir (active snapshots only; kept after commit)
//   <root>/snapshots/new-XXXXXX  a snapshot being created; renamed to <id> when complete
//   <link_dir>/<k>  ->  <root>/snapshots
//                                short symlink that all mount options go through (mount.h)
//
// Mounts (as containerd returns them, paths through the link):
//   no parent         {bind, <root>/snapshots/<id>/fs, [rw|ro, rbind]}
//   view, one parent  {bind, <root>/snapshots/<parent id>/fs, [ro, rbind]}
//   otherwise         {overlay, "overlay", [index=off?, userxattr?, workdir=..., upperdir=...
//                      (active only), lowerdir=<nearest parent>:...:<base>]}
// index=off is added when the kernel enables overlay's index by default
// (/sys/module/overlay/parameters/index is Y); userxattr when running in a user namespace.
//
// Usage of an active snapshot measures its fs dir; Commit records that measure.
// Thread-safe; mutations are serialized by the MetaStore.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "snapshotter/snapshotter.h"
#include "snapshotter/storage/metastore.h"

namespace berth::snapshotter::overlay {

struct OverlayOptions {
  // Where the short symlink to <root>/snapshots goes (see mount.h). Shorter is better: it is
  // repeated once per layer in lowerdir=. Empty: no link, mounts use <root> paths directly
  // (then the layer count is limited by the length of `root`).
  std::string link_dir = "/run/berth/l";
  // Leave removed snapshots' directories for Cleanup (containerd's AsynchronousRemove).
  bool async_remove = false;
  // false: Remove commits without waiting for the disk (one fdatasync, ~0.8 ms here, less per
  // removal). A machine crash right after can bring the removed snapshot's record back, its
  // directories gone; only for an owner that removes backend snapshots it has no record of
  // (berthd's snapshot store does: services/metadata/snapshots.cc RemoveOrphans).
  bool synced_remove = true;
};

// Returns OK if overlayfs works with `root` as the backing directory: the kernel mounts an
// overlay with two lower dirs there, and the filesystem reports d_type. Otherwise
// kUnimplemented with the reason (a plugin reports it as "skip"). Needs CAP_SYS_ADMIN.
absl::Status CheckOverlaySupported(const std::string& root);

class OverlaySnapshotter final : public Snapshotter {
 public:
  // Creates `root` if needed, checks overlay support (CheckOverlaySupported), opens the
  // metadata and sets up the short link.
  static absl::StatusOr<std::unique_ptr<OverlaySnapshotter>> Create(
      const std::string& root, const OverlayOptions& options = {});
  ~OverlaySnapshotter() override;

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
  std::optional<ChangeDirFormat> SeparateChangeDirs() const override {
    return ChangeDirFormat{.userxattr = userxattr_};
  }

  const std::string& root() const { return root_; }
  // The short symlink mounts go through ("" if none). The link is left in place when the
  // snapshotter closes, as mounts may still be performed from it by other processes.
  const std::string& link() const { return link_; }

 private:
  OverlaySnapshotter(std::string root, std::unique_ptr<storage::MetaStore> ms,
                     OverlayOptions options);

  absl::StatusOr<std::vector<Mount>> CreateSnapshot(Kind kind, absl::string_view key,
                                                    absl::string_view parent, const Labels& labels);
  std::vector<Mount> MountsFor(const storage::Snapshot& s) const;
  // Directories under snapshots/ that no snapshot owns. Caller holds a write transaction.
  absl::StatusOr<std::vector<std::string>> OrphanDirs(storage::MetaStore::Transaction& txn);

  std::string SnapshotsDir() const;
  std::string SnapshotDir(absl::string_view id) const;
  std::string UpperPath(absl::string_view id) const;
  // Paths as they appear in mount options: through the link when there is one.
  std::string MountUpperPath(absl::string_view id) const;
  std::string MountWorkPath(absl::string_view id) const;

  const std::string root_;
  const std::unique_ptr<storage::MetaStore> ms_;
  const OverlayOptions options_;
  std::string link_;
  bool index_off_ = false;
  bool userxattr_ = false;
};

}  // namespace berth::snapshotter::overlay
