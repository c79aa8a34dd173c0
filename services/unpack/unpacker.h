#pragma once

// Unpacker: applies an image's layers into a snapshotter in the daemon, the way containerd's
// client-side unpacker does over Diff.Apply and Snapshots, but without a round trip per call.
//
// For each layer in order: if the committed snapshot named by its chain id exists, it is
// reused; otherwise an active snapshot "extract-<nanos>-<chain id>" is prepared on the parent
// chain id, the layer is applied (its compressed digest and its diff id both verified), and it
// is committed as the chain id. A failed layer removes its active snapshot, so nothing half
// applied is ever visible. Everything happens under a lease, so the garbage collector never
// takes an active snapshot or a freshly committed layer before the image label points at it. Two unpacks of one image may race: the loser's commit finds the
// chain id there and drops its own copy. The image config then carries
// containerd.io/gc.ref.snapshot.<snapshotter> = the top chain id, as containerd writes it, so
// the collector keeps the snapshots while the image lives.
//
// On a snapshotter that keeps each snapshot's changes apart (overlayfs) the layers are applied
// in parallel (parallel_apply.cc); what gets committed, and in which order, is the same.
//
// Plugin io.containerd.internal.v1.unpack (requires metadata, the snapshot stores and the
// walking differ); the Archive service and registry pulls use it.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "containerd/types/descriptor.pb.h"
#include "plugins/base/platform.h"
#include "plugins/registry.h"
#include "services/diff/differ.h"
#include "services/metadata/content.h"
#include "services/metadata/leases.h"
#include "services/metadata/snapshots.h"

namespace berth::unpack {

inline constexpr char kDefaultSnapshotter[] = "overlayfs";

struct UnpackRequest {
  std::string ns;
  containerd::types::Descriptor target;    // the image's target: an index or a manifest
  std::string snapshotter;                 // "" = kDefaultSnapshotter
  Platform platform = HostPlatform();
  std::optional<std::string> lease;        // snapshots are added to it while unpacking
};

struct UnpackResult {
  std::string chain_id;  // the top layer's snapshot
  int layers_applied = 0;
  int layers_reused = 0;
};

class Unpacker {
 public:
  Unpacker(metadata::ContentMetadata& content, metadata::LeaseStore& leases,
           metadata::SnapshotStores& snapshots, services::Differ& differ)
      : content_(content), leases_(leases), snapshots_(snapshots), differ_(differ) {}

  absl::StatusOr<UnpackResult> Unpack(const UnpackRequest& request);

  // The layer loop alone, for a pull that unpacks while it downloads: applies `layers` in
  // order (request.lease must be set), calling ready(i) before layer i, which blocks until its
  // blob is stored (an error from it stops the loop). The caller labels the config afterwards
  // (a later Unpack of the stored image does, reusing every layer).
  using LayerReadyFn = std::function<absl::Status(size_t layer)>;
  absl::StatusOr<UnpackResult> ApplyLayers(const UnpackRequest& request,
                                           const std::vector<containerd::types::Descriptor>& layers,
                                           const std::vector<std::string>& diff_ids,
                                           const LayerReadyFn& ready);

 private:
  // The layers of `chain` (chain ids) from first to last, one at a time / several at once.
  absl::StatusOr<UnpackResult> ApplySerially(
      metadata::SnapshotStore& store, const UnpackRequest& request,
      const std::vector<containerd::types::Descriptor>& layers,
      const std::vector<std::string>& diff_ids, const std::vector<std::string>& chain,
      const LayerReadyFn& ready);
  absl::StatusOr<UnpackResult> ApplyInParallel(
      metadata::SnapshotStore& store, const UnpackRequest& request,
      const std::vector<containerd::types::Descriptor>& layers,
      const std::vector<std::string>& diff_ids, const std::vector<std::string>& chain,
      const LayerReadyFn& ready, const snapshotter::ChangeDirFormat& format);

  // Applies `layer` on `parent` and commits it as `chain_id`; true if it was applied here.
  absl::StatusOr<bool> ApplyLayer(metadata::SnapshotStore& store, const UnpackRequest& request,
                                  const containerd::types::Descriptor& layer,
                                  const std::string& diff_id, const std::string& parent,
                                  const std::string& chain_id);
  // Prepares the snapshot of `chain_id` on `parent`, lets `fill` write the layer through its
  // mounts and commits it as `chain_id`; on failure the prepared snapshot is removed. True if
  // committed here, false if another unpack committed `chain_id` first.
  using FillFn = absl::FunctionRef<absl::Status(const std::vector<snapshotter::Mount>&)>;
  absl::StatusOr<bool> PrepareFillCommit(metadata::SnapshotStore& store,
                                         const UnpackRequest& request, const std::string& parent,
                                         const std::string& chain_id, FillFn fill);
  absl::Status LabelConfig(const std::string& ns, const std::string& config_digest,
                           const std::string& snapshotter, const std::string& chain_id);

  // Unpack under a lease: the caller's, or a temporary one expiring in an hour (so a crash
  // mid-unpack leaves nothing the collector keeps forever).
  absl::StatusOr<UnpackResult> UnpackLeased(const UnpackRequest& request);

  metadata::ContentMetadata& content_;
  metadata::LeaseStore& leases_;
  metadata::SnapshotStores& snapshots_;
  services::Differ& differ_;
};

// The key of the active snapshot a layer is applied in ("extract-<nanos>-<what>"), as containerd.
std::string ExtractKey(absl::string_view what);
// FailedPrecondition unless `applied` (the layer `layer`) has the diff id the config names.
absl::Status CheckDiffId(const diff::AppliedLayer& applied,
                         const containerd::types::Descriptor& layer, const std::string& diff_id);

void RegisterUnpackPlugin(plugins::Registry& registry);

}  // namespace berth::unpack
