#pragma once

// WriteLayer: containerd's walking differ (diff/walking) producing a layer from two trees.
//
//   - `upper` is one overlay mount with upperdir=: only the upper dir is walked (the fast
//     path); its 0:0 character devices become ".wh.<name>" entries and directories with
//     trusted.overlay.opaque=y (or user.overlay.opaque) get a ".wh..wh..opq" entry;
//   - otherwise both are mounted read-only on temp dirs and compared: added or changed entries
//     (type, mode, owner, size, mtime, link target, device) are written, with their parent
//     directories; entries missing from `upper` become ".wh.<name>".
//
// The tar is PAX (owners, modes, nanosecond times, xattrs, hardlinks, symlinks, devices),
// compressed with ISA-L (gzip) or libzstd, and streamed to `sink`. The uncompressed digest is
// the layer's diffID.

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "content/digest.h"
#include "services/diff/layer_stream.h"
#include "snapshotter/mount.h"

namespace berth::diff {

struct WrittenLayer {
  content::Digest digest;        // of the compressed bytes written to the sink
  int64_t size = 0;              // compressed size
  content::Digest uncompressed;  // diffID
};

using SinkFn = absl::FunctionRef<absl::Status(absl::string_view)>;

// Writes the tar of the differences between the directories `lower` ("" = empty) and `upper`.
// `overlay_upper` walks `upper` alone as an overlay upper dir.
absl::Status WriteDiffTar(const std::string& lower, const std::string& upper, bool overlay_upper,
                          SinkFn sink);

absl::StatusOr<WrittenLayer> WriteLayer(absl::Span<const snapshotter::Mount> lower,
                                        absl::Span<const snapshotter::Mount> upper,
                                        Compression compression, SinkFn sink,
                                        const std::string& temp_mount_dir = "");

}  // namespace berth::diff
