#pragma once

// Differ: the walking differ (io.containerd.differ.v1.walking) over the namespaced content
// store. Apply extracts a layer blob onto snapshot mounts (applier.h); Diff writes the
// difference of two mount sets as a new layer blob (write_diff.h). The Diff gRPC service and
// the daemon-side unpacker (services/unpack) both use it.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/services/diff/v1/diff.pb.h"
#include "containerd/types/descriptor.pb.h"
#include "services/diff/applier.h"
#include "services/metadata/content.h"
#include "snapshotter/mount.h"

namespace berth::services {

class Differ {
 public:
  Differ(metadata::ContentMetadata& content, diff::ApplyConfig config)
      : content_(content), config_(std::move(config)) {}

  // Applies the layer `desc` of namespace `ns` onto `mounts`; the result is its diffID.
  absl::StatusOr<diff::AppliedLayer> Apply(const std::string& ns,
                                           const containerd::types::Descriptor& desc,
                                           const std::vector<snapshotter::Mount>& mounts);
  // The same into a directory, without mounts (diff::ApplyLayerToDir).
  absl::StatusOr<diff::AppliedLayer> ApplyToDir(const std::string& ns,
                                                const containerd::types::Descriptor& desc,
                                                const diff::LayerDir& dir);

  // Writes the layer that turns request.left() into request.right() into the content store.
  absl::StatusOr<containerd::types::Descriptor> Diff(
      const std::string& ns, const std::optional<std::string>& lease,
      const containerd::services::diff::v1::DiffRequest& request);

 private:
  // Reads the blob `desc` names, from the start; `digest` is set to its parsed digest.
  absl::StatusOr<diff::ReadFn> OpenLayer(const std::string& ns,
                                         const containerd::types::Descriptor& desc,
                                         content::Digest& digest);

  metadata::ContentMetadata& content_;
  const diff::ApplyConfig config_;
};

}  // namespace berth::services
