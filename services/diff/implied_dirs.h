#pragma once

// Directories a layer implies: a tar may name "a/b/file" without an entry for "a/b". Applied
// into a mounted tree, "a/b" is usually there already; applied into an overlay upper dir, it
// has to be made, and an upper dir's attributes hide the lower one's. So, as containerd's
// applier does (archive.mkparent), an implied directory takes the mode, owner, times and
// non-trusted xattrs of the same path in the first lower dir (nearest first) that has it; if
// that is not a directory, or no lower has it, it keeps 0755 root.

#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace berth::diff {

// Gives each directory `rels` names below `root_fd` (paths relative to it) the attributes of
// the same path in `lowers`. Paths are resolved inside each root (hostile trees); a path that
// is no longer a directory under `root_fd` is skipped.
absl::Status CopyImpliedDirInfo(int root_fd, absl::Span<const std::string> rels,
                                absl::Span<const std::string> lowers);

}  // namespace berth::diff
