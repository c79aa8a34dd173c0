#pragma once

// ApplyLayer: containerd's diff/apply for one layer blob onto the mounts of an active snapshot.
//
//   - one overlay mount with upperdir=  -> extract straight into the upper dir with overlay
//     whiteouts (no mount needed; containerd's fast path);
//   - one writable bind mount           -> extract into its source directory (no mount);
//   - anything else                     -> mount on a temp dir, extract with deletions, unmount.
//
// The compressed bytes are verified against `expected` (when given); the result is the
// uncompressed digest (diffID) and size, with the uncompressed OCI layer media type.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "content/digest.h"
#include "services/diff/layer_stream.h"
#include "snapshotter/mount.h"

namespace berth::diff {

struct ApplyConfig {
  // Character and block device entries are refused when false.
  bool allow_devices = true;
  // Cap on a layer's uncompressed size and on the file bytes it writes (0 = none).
  int64_t max_layer_bytes = 0;
  // Where temporary mount points are made ("" = $TMPDIR or /tmp).
  std::string temp_mount_dir;
};

struct AppliedLayer {
  content::Digest digest;  // diffID
  int64_t size = 0;        // uncompressed bytes
  std::string media_type;  // application/vnd.oci.image.layer.v1.tar
  // Into an overlay upper dir: the directories the layer implied (implied_dirs.h).
  std::vector<std::string> implied_dirs;
};

// A directory a layer is written into without a mount: an overlay upper dir (deletions become
// overlay whiteouts) or a plain tree (deletions delete).
struct LayerDir {
  std::string path;
  bool overlay_upper = false;
  bool userxattr = false;  // overlay_upper only: opaque markers as user.overlay.opaque
  // overlay_upper only: the lower dirs, nearest first; directories the layer implies take
  // their attributes from them (implied_dirs.h). Empty when they are not known yet.
  std::vector<std::string> lowers;
};

// The LayerDir of `mounts` when a layer can be applied to them without mounting (one overlay
// mount with upperdir=, or one writable bind mount), else nullopt.
std::optional<LayerDir> UnmountedLayerDir(absl::Span<const snapshotter::Mount> mounts);

absl::StatusOr<AppliedLayer> ApplyLayerToDir(const LayerDir& dir, absl::string_view media_type,
                                             const content::Digest& expected, ReadFn read,
                                             const ApplyConfig& config);

absl::StatusOr<AppliedLayer> ApplyLayer(absl::Span<const snapshotter::Mount> mounts,
                                        absl::string_view media_type,
                                        const content::Digest& expected, ReadFn read,
                                        const ApplyConfig& config);

}  // namespace berth::diff
