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
#include <string>

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
};

absl::StatusOr<AppliedLayer> ApplyLayer(absl::Span<const snapshotter::Mount> mounts,
                                        absl::string_view media_type,
                                        const content::Digest& expected, ReadFn read,
                                        const ApplyConfig& config);

}  // namespace berth::diff
