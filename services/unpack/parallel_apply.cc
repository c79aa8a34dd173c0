// Unpacker::ApplyInParallel: an image's layers applied at once, on a snapshotter whose active
// snapshots keep their own changes apart from their parents' (Snapshotter::SeparateChangeDirs:
// overlayfs, where a layer's upper dir starts empty whatever lies below it).
//
// Workers take layers in chain order. For each one a worker
//   1. waits for its blob (ready), then applies it into a parentless staging snapshot, written
//      as the layer's own snapshot will hold it: as an overlay upper dir (overlay whiteouts),
//      the bottom layer as the plain tree its bind mount shows; and checks its diff id;
//   2. waits until the layer below is committed, prepares the layer's snapshot on it, renames
//      the staged directory over the new, empty upper dir, commits it as the chain id and
//      removes the staging snapshot.
// So the snapshots committed, and their order, are those of the serial path. A failure stops
// the layers above it; the layers below that were already committed stay (a retry reuses
// them). Staging snapshots are in the unpack's lease: after a crash the collector takes them.

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"
#include "services/diff/implied_dirs.h"
#include "services/unpack/unpacker.h"

namespace berth::unpack {
namespace {

using containerd::types::Descriptor;

// Layers applied at once. Each also inflates on a thread of its own, so two per core keep the
// cores busy while one layer waits on the disk; more only add memory and seeks.
size_t WorkerCount(size_t layers) {
  size_t cores = std::max(1u, std::thread::hardware_concurrency());
  return std::min(layers, std::clamp<size_t>(2 * cores, 2, 8));
}

// Moves the staged tree `staged` over the empty directory `upper`, giving it the owner and mode
// the snapshotter gave `upper` (a tar never sets its root's: apply_tar.h). `staged` is made
// again, empty, so its snapshot stays whole until it is removed.
absl::Status MoveInto(const std::string& staged, const std::string& upper) {
  struct stat st;
  if (stat(upper.c_str(), &st) != 0) return ErrnoError(errno, "stat", upper);
  if (lchown(staged.c_str(), st.st_uid, st.st_gid) != 0) return ErrnoError(errno, "chown", staged);
  if (chmod(staged.c_str(), st.st_mode & 07777) != 0) return ErrnoError(errno, "chmod", staged);
  if (rename(staged.c_str(), upper.c_str()) != 0) return ErrnoError(errno, "rename", staged);
  if (mkdir(staged.c_str(), 0755) != 0) return ErrnoError(errno, "mkdir", staged);
  return absl::OkStatus();
}

absl::Status FixImpliedDirs(const std::string& dir, const std::vector<std::string>& implied,
                            const std::vector<std::string>& lowers) {
  if (implied.empty() || lowers.empty()) return absl::OkStatus();
  UniqueFd root(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return ErrnoError(errno, "open", dir);
  return diff::CopyImpliedDirInfo(root.get(), implied, lowers);
}

// The directory Prepare's mounts write to without a mount, or an error (the snapshotter broke
// the promise SeparateChangeDirs made).
absl::StatusOr<diff::LayerDir> WritableDir(const std::vector<snapshotter::Mount>& mounts,
                                           bool overlay_upper) {
  std::optional<diff::LayerDir> dir = diff::UnmountedLayerDir(mounts);
  if (!dir.has_value() || dir->overlay_upper != overlay_upper) {
    return absl::InternalError(absl::StrCat("unpack: expected ",
                                            overlay_upper ? "an overlay upper dir" : "a bind mount",
                                            " from the snapshotter"));
  }
  return *dir;
}

// What the workers share: which layer comes next, how far the chain is committed, the outcome.
struct ChainProgress {
  absl::Mutex mu;
  size_t next ABSL_GUARDED_BY(mu) = 0;
  size_t committed ABSL_GUARDED_BY(mu) = 0;  // layers [0, committed) are in place
  absl::Status error ABSL_GUARDED_BY(mu);    // of the lowest layer that failed
  size_t error_layer ABSL_GUARDED_BY(mu) = SIZE_MAX;
  UnpackResult result ABSL_GUARDED_BY(mu);

  bool failed() const ABSL_SHARED_LOCKS_REQUIRED(mu) { return error_layer != SIZE_MAX; }
};

}  // namespace

absl::StatusOr<UnpackResult> Unpacker::ApplyInParallel(
    metadata::SnapshotStore& store, const UnpackRequest& request,
    const std::vector<Descriptor>& layers, const std::vector<std::string>& diff_ids,
    const std::vector<std::string>& chain, const LayerReadyFn& ready,
    const snapshotter::ChangeDirFormat& format) {
  ChainProgress progress;

  // What step 1 leaves for step 2: the staging snapshot (none if the layer was committed
  // already), its directory and the directories the layer implied.
  struct Staged {
    std::string key, dir;
    std::vector<std::string> implied_dirs;
  };
  // Step 1 for layer i; `staged.key` is set as soon as the snapshot exists, so that the caller
  // removes it whatever happens next.
  auto stage = [&](size_t i, Staged& staged) -> absl::Status {
    RETURN_IF_ERROR(ready(i));
    if (store.Stat(request.ns, chain[i]).ok()) return absl::OkStatus();
    std::string key = ExtractKey(absl::StrCat("stage-", chain[i]));
    ASSIGN_OR_RETURN(std::vector<snapshotter::Mount> mounts,
                     store.Prepare(request.ns, key, "", {}, request.lease));
    staged.key = key;
    ASSIGN_OR_RETURN(diff::LayerDir dir, WritableDir(mounts, /*overlay_upper=*/false));
    staged.dir = dir.path;
    dir.overlay_upper = i > 0;
    dir.userxattr = format.userxattr;
    ASSIGN_OR_RETURN(diff::AppliedLayer applied, differ_.ApplyToDir(request.ns, layers[i], dir));
    staged.implied_dirs = std::move(applied.implied_dirs);
    return CheckDiffId(applied, layers[i], diff_ids[i]);
  };
  // Step 2: true if committed here, false if another unpack committed it first.
  // The lowers are known now: implied directories take their attributes from them.
  auto finish = [&](size_t i, const Staged& staged) -> absl::StatusOr<bool> {
    return PrepareFillCommit(store, request, i == 0 ? "" : chain[i - 1], chain[i],
                             [&](const std::vector<snapshotter::Mount>& mounts) -> absl::Status {
                               ASSIGN_OR_RETURN(diff::LayerDir upper,
                                                WritableDir(mounts, /*overlay_upper=*/i > 0));
                               RETURN_IF_ERROR(FixImpliedDirs(staged.dir, staged.implied_dirs,
                                                              upper.lowers));
                               return MoveInto(staged.dir, upper.path);
                             });
  };
  auto layer = [&](size_t i) -> absl::StatusOr<bool> {
    Staged staged;
    absl::Cleanup remove_staging = [&] {
      if (staged.key.empty()) return;
      absl::Status removed = store.Remove(request.ns, staged.key);
      if (!removed.ok()) BERTH_LOG(WARN) << "unpack: removing " << staged.key << ": " << removed;
    };
    absl::Status status = stage(i, staged);
    {
      absl::MutexLock lock(&progress.mu);
      auto below_done = [&]() ABSL_SHARED_LOCKS_REQUIRED(progress.mu) {
        return progress.failed() || progress.committed == i;
      };
      progress.mu.Await(absl::Condition(&below_done));
      if (progress.failed()) return absl::CancelledError("a layer below failed");
    }
    RETURN_IF_ERROR(status);
    if (staged.key.empty()) return false;  // committed already
    return finish(i, staged);
  };
  auto work = [&] {
    while (true) {
      size_t i;
      {
        absl::MutexLock lock(&progress.mu);
        if (progress.failed() || progress.next == chain.size()) return;
        i = progress.next++;
      }
      absl::StatusOr<bool> applied = layer(i);
      absl::MutexLock lock(&progress.mu);
      if (applied.ok()) {
        ++(*applied ? progress.result.layers_applied : progress.result.layers_reused);
        progress.committed = i + 1;
        continue;
      }
      // A layer cancelled because another failed reports nothing; the lowest failure wins.
      bool cancelled = progress.failed() && absl::IsCancelled(applied.status());
      if (!cancelled && i < progress.error_layer) {
        progress.error_layer = i;
        progress.error = Annotate(applied.status(), absl::StrCat("unpack layer ", layers[i].digest()));
      }
    }
  };

  std::vector<std::thread> workers;
  for (size_t w = 0; w < WorkerCount(chain.size()); ++w) workers.emplace_back(work);
  for (std::thread& worker : workers) worker.join();

  absl::MutexLock lock(&progress.mu);
  if (progress.failed()) return progress.error;
  progress.result.chain_id = chain.back();
  return progress.result;
}

}  // namespace berth::unpack
