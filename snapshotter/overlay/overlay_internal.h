#pragma once

// Helpers of the overlay snapshotter that probe the host (overlay_check.cc).

#include <string>

#include "absl/status/statusor.h"

namespace berth::snapshotter::overlay::internal {

// Points a short symlink `<link_dir>/<k>` at `target` and returns its path. <k> is a few
// base-36 characters derived from `target`; a link left by a root that no longer exists is
// replaced, a live one belonging to another root makes us probe the next <k>.
absl::StatusOr<std::string> EnsureShortLink(const std::string& link_dir, const std::string& target);

// True if /sys/module/overlay/parameters/index says the kernel indexes by default.
bool OverlayIndexOnByDefault();

// True if we run in a user namespace other than the initial one (needs "userxattr").
bool InUserNamespace();

}  // namespace berth::snapshotter::overlay::internal
