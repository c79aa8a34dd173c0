#include "services/unpack/unpacker.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/types.h"
#include "services/metadata/metadata.h"
#include "services/unpack/image_layers.h"

namespace berth::unpack {
namespace {

using containerd::types::Descriptor;

constexpr char kSnapshotRefLabel[] = "containerd.io/snapshot.ref";
constexpr char kGcRefSnapshotPrefix[] = "containerd.io/gc.ref.snapshot.";

}  // namespace

absl::StatusOr<UnpackResult> Unpacker::Unpack(const UnpackRequest& request) {
  if (request.lease.has_value()) return UnpackLeased(request);
  metadata::Lease lease;
  lease.set_id(absl::StrCat("unpack-", absl::ToUnixNanos(absl::Now())));
  (*lease.mutable_labels())[metadata::kGcExpireLabel] =
      absl::FormatTime(absl::RFC3339_sec, absl::Now() + absl::Hours(1), absl::UTCTimeZone());
  RETURN_IF_ERROR(leases_.Create(request.ns, lease).status());
  UnpackRequest leased = request;
  leased.lease = lease.id();
  absl::StatusOr<UnpackResult> result = UnpackLeased(leased);
  absl::Status deleted = leases_.Delete(request.ns, lease.id());
  if (!deleted.ok()) BERTH_LOG(WARN) << "unpack: deleting lease " << lease.id() << ": " << deleted;
  return result;
}

absl::StatusOr<UnpackResult> Unpacker::UnpackLeased(const UnpackRequest& request) {
  std::string snapshotter = request.snapshotter.empty() ? kDefaultSnapshotter : request.snapshotter;
  ASSIGN_OR_RETURN(ImageLayers image,
                   ResolveImageLayers(content_, request.ns, request.target, request.platform));
  ASSIGN_OR_RETURN(UnpackResult result,
                   ApplyLayers(request, image.layers, image.diff_ids,
                               [](size_t) { return absl::OkStatus(); }));
  RETURN_IF_ERROR(LabelConfig(request.ns, image.config.digest(), snapshotter, result.chain_id));
  return result;
}

absl::StatusOr<UnpackResult> Unpacker::ApplyLayers(const UnpackRequest& request,
                                                   const std::vector<Descriptor>& layers,
                                                   const std::vector<std::string>& diff_ids,
                                                   const LayerReadyFn& ready) {
  std::string snapshotter = request.snapshotter.empty() ? kDefaultSnapshotter : request.snapshotter;
  ASSIGN_OR_RETURN(metadata::SnapshotStore * store, snapshots_.Get(snapshotter));
  if (layers.empty()) return InvalidArgument("unpack: the image has no layers");
  if (layers.size() != diff_ids.size()) {
    return InvalidArgument(absl::StrCat("unpack: ", diff_ids.size(), " diff ids for ",
                                        layers.size(), " layers"));
  }
  std::vector<std::string> chain = ChainIds(diff_ids);
  std::optional<snapshotter::ChangeDirFormat> format = store->backend().SeparateChangeDirs();
  if (format.has_value() && chain.size() > 1) {
    return ApplyInParallel(*store, request, layers, diff_ids, chain, ready, *format);
  }
  return ApplySerially(*store, request, layers, diff_ids, chain, ready);
}

absl::StatusOr<UnpackResult> Unpacker::ApplySerially(metadata::SnapshotStore& store,
                                                     const UnpackRequest& request,
                                                     const std::vector<Descriptor>& layers,
                                                     const std::vector<std::string>& diff_ids,
                                                     const std::vector<std::string>& chain,
                                                     const LayerReadyFn& ready) {
  UnpackResult result;
  std::string parent;
  for (size_t i = 0; i < chain.size(); ++i) {
    RETURN_IF_ERROR(ready(i));
    ASSIGN_OR_RETURN(bool applied,
                     ApplyLayer(store, request, layers[i], diff_ids[i], parent, chain[i]));
    ++(applied ? result.layers_applied : result.layers_reused);
    parent = chain[i];
  }
  result.chain_id = chain.back();
  return result;
}

absl::StatusOr<bool> Unpacker::ApplyLayer(metadata::SnapshotStore& store,
                                          const UnpackRequest& request, const Descriptor& layer,
                                          const std::string& diff_id, const std::string& parent,
                                          const std::string& chain_id) {
  if (store.Stat(request.ns, chain_id).ok()) return false;
  absl::StatusOr<bool> committed = PrepareFillCommit(
      store, request, parent, chain_id,
      [&](const std::vector<snapshotter::Mount>& mounts) -> absl::Status {
        ASSIGN_OR_RETURN(diff::AppliedLayer applied, differ_.Apply(request.ns, layer, mounts));
        return CheckDiffId(applied, layer, diff_id);
      });
  if (!committed.ok()) {
    return Annotate(committed.status(), absl::StrCat("unpack layer ", layer.digest()));
  }
  return committed;
}

absl::StatusOr<bool> Unpacker::PrepareFillCommit(metadata::SnapshotStore& store,
                                                 const UnpackRequest& request,
                                                 const std::string& parent,
                                                 const std::string& chain_id, FillFn fill) {
  std::string key = ExtractKey(chain_id);
  snapshotter::Labels labels{{kSnapshotRefLabel, chain_id}};
  ASSIGN_OR_RETURN(std::vector<snapshotter::Mount> mounts,
                   store.Prepare(request.ns, key, parent, labels, request.lease));
  absl::Status status = fill(mounts);
  if (status.ok()) status = store.Commit(request.ns, chain_id, key, labels, request.lease);
  if (status.ok()) return true;
  absl::Status removed = store.Remove(request.ns, key);
  if (!removed.ok() && !absl::IsNotFound(removed)) {
    BERTH_LOG(WARN) << "unpack: removing " << key << ": " << removed;
  }
  // Another unpack committed the same layer first: use theirs.
  if (absl::IsAlreadyExists(status) && store.Stat(request.ns, chain_id).ok()) return false;
  return status;
}

std::string ExtractKey(absl::string_view what) {
  return absl::StrCat("extract-", absl::ToUnixNanos(absl::Now()), "-", what);
}

absl::Status CheckDiffId(const diff::AppliedLayer& applied, const Descriptor& layer,
                         const std::string& diff_id) {
  if (applied.digest.string() == diff_id) return absl::OkStatus();
  return FailedPrecondition(absl::StrCat("unpack: layer ", layer.digest(), " has diff id ",
                                         applied.digest.string(), ", the config says ", diff_id));
}

absl::Status Unpacker::LabelConfig(const std::string& ns, const std::string& config_digest,
                                   const std::string& snapshotter, const std::string& chain_id) {
  return content_.SetLabels(ns, config_digest,
                            {{absl::StrCat(kGcRefSnapshotPrefix, snapshotter), chain_id}});
}

void RegisterUnpackPlugin(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kInternalPlugin,
      .id = "unpack",
      .requires_types = {plugins::kMetadataPlugin, plugins::kServicePlugin, plugins::kDiffPlugin},
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        ASSIGN_OR_RETURN(auto* md, context.Get<metadata::Metadata>(plugins::kMetadataPlugin));
        if (md->content() == nullptr) return plugins::SkipPlugin("no content store is loaded");
        ASSIGN_OR_RETURN(auto* stores, context.GetById<metadata::SnapshotStores>(
                                           plugins::kServicePlugin, "snapshots-service"));
        ASSIGN_OR_RETURN(auto* differ, context.Get<services::Differ>(plugins::kDiffPlugin));
        return plugins::Instance::Of(
            std::make_unique<Unpacker>(*md->content(), md->leases(), *stores, *differ));
      }});
}

}  // namespace berth::unpack
