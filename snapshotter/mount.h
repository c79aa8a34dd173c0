#pragma once

// Mount: one mount(2) call described as data (containerd mount.Mount). Snapshotters return a
// list of these and never mount; whoever owns the target directory performs them in order
// (the shim for a container's rootfs, the diff service for unpacking, tests).
//
// Conventions the values follow, so that any process can perform them with a plain mount(2)
// and no Berth code (runc-style runtimes, shims, `mount -t overlay -o ...`):
//
//   - `type`   the filesystem type: "bind" (mount(2) with MS_BIND, from options "bind" or
//              "rbind") or a real type such as "overlay".
//   - `source` an absolute path for "bind"; the conventional "overlay" for overlay.
//   - `target` a path relative to the caller's mount point where this mount goes; empty
//              (every snapshotter here) means the mount point itself.
//   - `options` fstab-style: flag words ("ro", "rw", "rbind", "nosuid", "private", ...) become
//              mount flags; everything else ("lowerdir=...", "index=off") is passed to the
//              filesystem as the data string, joined with commas, in order.
//
// Every path inside `options` is absolute and resolves in the host mount namespace, so the
// mount works from a different process and a different working directory.
//
// Overlay and the page limit. The kernel copies mount(2)'s data string into a single page
// (4096 bytes, including the NUL), so the classic "lowerdir=<root>/snapshots/<id>/fs:..." with
// long absolute paths stops at a few dozen layers. The overlay snapshotter therefore names
// every directory through a short per-snapshotter symlink, e.g.
//
//   /run/berth/l/k3x9  ->  <root>/snapshots          (created by the snapshotter)
//   lowerdir=/run/berth/l/k3x9/12/fs:/run/berth/l/k3x9/11/fs:...
//   upperdir=/run/berth/l/k3x9/13/fs,workdir=/run/berth/l/k3x9/13/work
//
// so an option string costs about 25 bytes per layer whatever the root path is: ~150 layers
// fit in a page with plain absolute paths. The kernel resolves the symlink once, at mount
// time; the mounted filesystem does not depend on it afterwards. Past a page (up to overlayfs'
// own limit of 500 layers), MountAll (mount_util.h) additionally rewrites lowerdir entries
// relative to their common directory and performs the mount from a thread whose working
// directory is that directory (containerd's "compactLowerdirOption"); a foreign mounter that
// wants more than ~150 layers must do the same.

#include <string>
#include <vector>

namespace berth::snapshotter {

struct Mount {
  std::string type;
  std::string source;
  std::string target;
  std::vector<std::string> options;

  friend bool operator==(const Mount&, const Mount&) = default;
};

}  // namespace berth::snapshotter
