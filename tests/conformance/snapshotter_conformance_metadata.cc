// The conformance suite on the namespaced metadata layer (services/metadata/snapshots.h) over
// native and overlayfs: what a client of berthd's Snapshots service sees.

#include "services/metadata/db.h"
#include "services/metadata/snapshots.h"
#include "snapshotter/native/native_snapshotter.h"
#include "snapshotter/overlay/overlay_snapshotter.h"
#include "tests/conformance/snapshotter_conformance.h"

namespace berth::snapshotter::testing {
namespace {

// Owns the database, the backend and the store behind one namespace's view.
class OwnedNamespaced final : public Snapshotter {
 public:
  OwnedNamespaced(std::unique_ptr<metadata::Db> db, std::unique_ptr<Snapshotter> backend)
      : db_(std::move(db)),
        backend_(std::move(backend)),
        store_(*db_, "test", *backend_),
        view_(store_, "conformance") {}

  absl::StatusOr<SnapshotInfo> Stat(absl::string_view key) override { return view_.Stat(key); }
  absl::StatusOr<SnapshotInfo> Update(const SnapshotInfo& info,
                                      absl::Span<const std::string> paths) override {
    return view_.Update(info, paths);
  }
  absl::StatusOr<snapshotter::Usage> Usage(absl::string_view key) override {
    return view_.Usage(key);
  }
  absl::StatusOr<std::vector<Mount>> Mounts(absl::string_view key) override {
    return view_.Mounts(key);
  }
  absl::StatusOr<std::vector<Mount>> Prepare(absl::string_view key, absl::string_view parent,
                                             const Labels& labels) override {
    return view_.Prepare(key, parent, labels);
  }
  absl::StatusOr<std::vector<Mount>> View(absl::string_view key, absl::string_view parent,
                                          const Labels& labels) override {
    return view_.View(key, parent, labels);
  }
  absl::Status Commit(absl::string_view name, absl::string_view key,
                      const Labels& labels) override {
    return view_.Commit(name, key, labels);
  }
  absl::Status Remove(absl::string_view key) override { return view_.Remove(key); }
  absl::Status Walk(absl::FunctionRef<absl::Status(const SnapshotInfo&)> fn) override {
    return view_.Walk(fn);
  }
  absl::Status Cleanup() override { return view_.Cleanup(); }

 private:
  std::unique_ptr<metadata::Db> db_;
  std::unique_ptr<Snapshotter> backend_;
  metadata::SnapshotStore store_;
  metadata::NamespacedSnapshotter view_;
};

absl::StatusOr<std::unique_ptr<Snapshotter>> Wrap(const std::string& root,
                                                  absl::StatusOr<std::unique_ptr<Snapshotter>> b) {
  if (!b.ok()) return b.status();
  auto db = metadata::Db::Open(root + "/meta.db", metadata::DbOptions{.sync_writes = false});
  if (!db.ok()) return db.status();
  return std::unique_ptr<Snapshotter>(
      std::make_unique<OwnedNamespaced>(std::move(*db), std::move(*b)));
}

absl::StatusOr<std::unique_ptr<Snapshotter>> CreateMetadataNative(const std::string& root) {
  auto native = native::NativeSnapshotter::Create(root + "/native");
  if (!native.ok()) return native.status();
  return Wrap(root, std::unique_ptr<Snapshotter>(std::move(*native)));
}

absl::StatusOr<std::unique_ptr<Snapshotter>> CreateMetadataOverlay(const std::string& root) {
  overlay::OverlayOptions options;
  options.link_dir = "";  // long paths are fine for the suite's few layers
  auto overlay = overlay::OverlaySnapshotter::Create(root + "/overlay", options);
  if (!overlay.ok()) return overlay.status();
  return Wrap(root, std::unique_ptr<Snapshotter>(std::move(*overlay)));
}

INSTANTIATE_TEST_SUITE_P(
    Metadata, SnapshotterConformance,
    ::testing::Values(SnapshotterFactory{"metadata_native", &CreateMetadataNative, nullptr},
                      SnapshotterFactory{"metadata_overlayfs", &CreateMetadataOverlay, nullptr}),
    SnapshotterFactoryName);

}  // namespace
}  // namespace berth::snapshotter::testing
