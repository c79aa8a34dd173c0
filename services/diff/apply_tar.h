#pragma once

// ApplyTar: extracts a layer tar into a directory, treating every archive as hostile
// (containerd archive/tar.go applyNaive, with fd-relative resolution instead of path strings).
//
// Containment. Every name is cleaned lexically against "/" (so "../../x" and "/x" land at
// <root>/x), and every parent directory is opened with openat2(RESOLVE_IN_ROOT |
// RESOLVE_NO_MAGICLINKS) from the root's fd: a symlink planted by the archive ("evil" ->
// "/etc") is followed as if <root> were "/", never out of it. The final component is never
// followed: whatever is there is replaced (unlinkat, or a recursive fd-relative removal for a
// directory) and the new entry is created with O_EXCL/O_NOFOLLOW, mknodat, symlinkat or
// linkat. Hardlink sources are resolved the same way, so a link "to /etc/passwd" links
// <root>/etc/passwd or fails. A name over PATH_MAX (4096) or a component over NAME_MAX (255) is
// rejected; device nodes are rejected unless allowed; the bytes written are capped.
//
// Whiteouts (the OCI layer spec):
//   kOverlay  writing straight into an overlay upper dir: ".wh.<name>" becomes a 0:0 character
//             device <name>, ".wh..wh..opq" sets trusted.overlay.opaque=y (user.overlay.opaque
//             with userxattr) on its directory.
//   kDelete   writing into a mounted tree: ".wh.<name>" removes <name>; ".wh..wh..opq" removes
//             everything in its directory that this layer did not itself create.
//
// Kept: owners (when running as root), modes (incl. setuid/setgid/sticky), modification and
// access times (directories' at the end, after their children), xattrs (SCHILY.xattr /
// LIBARCHIVE.xattr), hardlinks, symlinks, device nodes, FIFOs. Sockets are skipped.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "services/diff/layer_stream.h"

namespace berth::diff {

enum class WhiteoutMode { kOverlay, kDelete };

struct ApplyOptions {
  WhiteoutMode whiteouts = WhiteoutMode::kDelete;
  // Overlay mounted with userxattr: opaque markers use user.overlay.opaque.
  bool userxattr = false;
  // Character and block devices (except the 0:0 whiteouts this code makes itself).
  bool allow_devices = true;
  // Cap on file bytes written (0 = none); kResourceExhausted past it.
  int64_t max_bytes = 0;
  // kOverlay: the lower dirs under the upper dir, nearest first. Directories the layer implies
  // without listing them take their attributes from these (implied_dirs.h).
  std::vector<std::string> lowers;
  // kOverlay, when set: receives those implied directories (relative paths), for a caller that
  // learns the lowers only later and applies implied_dirs.h itself.
  std::vector<std::string>* implied_dirs = nullptr;
};

// Applies the tar read from `stream` under the directory `root_fd` (borrowed). On error the
// tree is left partially applied (the caller discards the snapshot), never outside `root_fd`.
absl::Status ApplyTar(LayerStream& stream, int root_fd, const ApplyOptions& options);

}  // namespace berth::diff
