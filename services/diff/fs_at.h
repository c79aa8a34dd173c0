#pragma once

// fd-relative filesystem helpers for extracting hostile archives: resolution confined to a
// root directory (openat2 RESOLVE_IN_ROOT) and removal that never follows symlinks.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "plugins/base/unique_fd.h"

namespace berth::diff {

// Opens `rel` ("" = the root itself) below `root_fd` with `flags` (O_CLOEXEC added), resolving
// every symlink and ".." as if `root_fd` were "/" (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS).
// kNotFound if a component is missing.
absl::StatusOr<UniqueFd> OpenInRoot(int root_fd, absl::string_view rel, int flags);

// Removes `name` in directory `dir_fd`: a file, link or device with unlinkat, a directory with
// everything below it (fd-relative, symlinks never followed, other mounts not crossed). OK if
// `name` does not exist.
absl::Status RemoveAt(int dir_fd, const std::string& name);

// Names in directory `dir_fd` (without "." and "..").
absl::StatusOr<std::vector<std::string>> ListDirAt(int dir_fd);

}  // namespace berth::diff
