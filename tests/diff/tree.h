#pragma once

// What a test compares two unpacked file trees by: path -> "mode uid gid content-or-target" for
// every entry (directories, files, symlinks, devices), read through mounts or from a directory.

#include <map>
#include <string>
#include <vector>

#include "snapshotter/mount.h"

namespace berth::diff::testing {

using Tree = std::map<std::string, std::string>;

// The entries under `dir` (not `dir` itself), by path relative to it.
Tree TreeOf(const std::string& dir);
// The tree `mounts` show, mounted on a temp dir for the walk (an empty tree if that fails,
// with a test failure).
Tree MountedTree(const std::vector<snapshotter::Mount>& mounts);

}  // namespace berth::diff::testing
