#pragma once

// DiskUsage: what a directory tree costs on disk (containerd continuity fs.DiskUsage), the
// number Snapshotter::Usage reports. Does not follow symlinks or cross into other mounts.

#include <string>

#include "absl/status/statusor.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter {

// Counts every distinct inode under `root` (including `root`) once, hard links included, and
// sums their allocated blocks (st_blocks * 512). kNotFound if `root` does not exist.
absl::StatusOr<Usage> DiskUsage(const std::string& root);

}  // namespace berth::snapshotter
