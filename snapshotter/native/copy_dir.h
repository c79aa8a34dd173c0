#pragma once

// CopyDir: a faithful copy of a directory tree, for the native snapshotter (containerd
// continuity fs.CopyDir). Keeps file types (regular, directory, symlink, block and character
// devices, fifos, sockets), contents, owners, modes (with setuid/setgid/sticky), access and
// modification times (nanoseconds), extended attributes, and hard links within the tree.
// Does not follow symlinks and does not cross into other mounts' contents below `src`.

#include <string>

#include "absl/status/status.h"

namespace berth::snapshotter::native {

// Copies the contents of directory `src` into the existing directory `dst`, and `src`'s own
// owner, mode, times and xattrs onto `dst`. xattrs that cannot be set (e.g. security.* under
// an LSM, trusted.* without privilege) are skipped with a debug log, as containerd does.
absl::Status CopyDir(const std::string& src, const std::string& dst);

}  // namespace berth::snapshotter::native
