#include "snapshotter/overlay/overlay_snapshotter.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "plugins/base/file_util.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "snapshotter/disk_usage.h"
#include "snapshotter/overlay/overlay_internal.h"

namespace berth::snapshotter::overlay {
namespace {

using storage::MetaStore;
using storage::Record;

absl::StatusOr<std::string> RealPath(const std::string& path) {
  char* real = realpath(path.c_str(), nullptr);
  if (real == nullptr) return ErrnoError(errno, "realpath", path);
  std::string out(real);
  free(real);
  return out;
}

void RemoveDirs(const std::vector<std::string>& dirs) {
  for (const std::string& dir : dirs) {
    if (absl::Status s = RemoveAll(dir); !s.ok()) {
      BERTH_LOG(WARN) << "overlay: failed to remove snapshot directory: " << s.message();
    }
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<OverlaySnapshotter>> OverlaySnapshotter::Create(
    const std::string& root_arg, const OverlayOptions& options) {
  RETURN_IF_ERROR(MkdirAll(root_arg, 0700));
  ASSIGN_OR_RETURN(std::string root, RealPath(root_arg));
  RETURN_IF_ERROR(CheckOverlaySupported(root));
  RETURN_IF_ERROR(MkdirAll(JoinPath(root, "snapshots"), 0700));
  ASSIGN_OR_RETURN(std::unique_ptr<MetaStore> ms, MetaStore::Open(JoinPath(root, "metadata")));
  std::unique_ptr<OverlaySnapshotter> s(new OverlaySnapshotter(root, std::move(ms), options));
  if (!options.link_dir.empty()) {
    ASSIGN_OR_RETURN(s->link_, internal::EnsureShortLink(options.link_dir, s->SnapshotsDir()));
  }
  s->index_off_ = internal::OverlayIndexOnByDefault();
  s->userxattr_ = internal::InUserNamespace();
  return s;
}

OverlaySnapshotter::OverlaySnapshotter(std::string root, std::unique_ptr<MetaStore> ms,
                                       OverlayOptions options)
    : root_(std::move(root)), ms_(std::move(ms)), options_(std::move(options)) {}

OverlaySnapshotter::~OverlaySnapshotter() = default;

std::string OverlaySnapshotter::SnapshotsDir() const { return JoinPath(root_, "snapshots"); }
std::string OverlaySnapshotter::SnapshotDir(absl::string_view id) const {
  return JoinPath(SnapshotsDir(), id);
}
std::string OverlaySnapshotter::UpperPath(absl::string_view id) const {
  return JoinPath(SnapshotDir(id), "fs");
}
std::string OverlaySnapshotter::MountUpperPath(absl::string_view id) const {
  return absl::StrCat(link_.empty() ? SnapshotsDir() : link_, "/", id, "/fs");
}
std::string OverlaySnapshotter::MountWorkPath(absl::string_view id) const {
  return absl::StrCat(link_.empty() ? SnapshotsDir() : link_, "/", id, "/work");
}

absl::StatusOr<SnapshotInfo> OverlaySnapshotter::Stat(absl::string_view key) {
  ASSIGN_OR_RETURN(Record record, ms_->GetInfo(key));
  return std::move(record.info);
}

absl::StatusOr<SnapshotInfo> OverlaySnapshotter::Update(const SnapshotInfo& info,
                                                        absl::Span<const std::string> fieldpaths) {
  return ms_->UpdateInfo(info, fieldpaths);
}

absl::StatusOr<snapshotter::Usage> OverlaySnapshotter::Usage(absl::string_view key) {
  ASSIGN_OR_RETURN(Record record, ms_->GetInfo(key));
  if (record.info.kind == Kind::kActive) return DiskUsage(UpperPath(record.id));
  return record.usage;
}

absl::StatusOr<std::vector<Mount>> OverlaySnapshotter::Mounts(absl::string_view key) {
  ASSIGN_OR_RETURN(storage::Snapshot snapshot, ms_->GetSnapshot(key));
  return MountsFor(snapshot);
}

absl::StatusOr<std::vector<Mount>> OverlaySnapshotter::Prepare(absl::string_view key,
                                                               absl::string_view parent,
                                                               const Labels& labels) {
  return CreateSnapshot(Kind::kActive, key, parent, labels);
}

absl::StatusOr<std::vector<Mount>> OverlaySnapshotter::View(absl::string_view key,
                                                            absl::string_view parent,
                                                            const Labels& labels) {
  return CreateSnapshot(Kind::kView, key, parent, labels);
}

absl::StatusOr<std::vector<Mount>> OverlaySnapshotter::CreateSnapshot(Kind kind,
                                                                      absl::string_view key,
                                                                      absl::string_view parent,
                                                                      const Labels& labels) {
  storage::Snapshot s;
  std::string final_path;  // set once the directory is in place; removed if the txn fails
  absl::Cleanup remove_final = [&] {
    if (!final_path.empty()) RemoveDirs({final_path});
  };
  RETURN_IF_ERROR(ms_->Update([&](MetaStore::Transaction& txn) -> absl::Status {
    std::string temp = JoinPath(SnapshotsDir(), "new-XXXXXX");
    if (mkdtemp(temp.data()) == nullptr) return ErrnoError(errno, "mkdtemp", temp);
    absl::Cleanup remove_temp = [&] { RemoveDirs({temp}); };
    std::string fs = JoinPath(temp, "fs");
    if (mkdir(fs.c_str(), 0755) != 0) return ErrnoError(errno, "mkdir", fs);
    // mkdtemp made it 0700; the snapshot dir only needs to be traversable for the mount.
    if (chmod(temp.c_str(), 0755) != 0) return ErrnoError(errno, "chmod", temp);
    if (kind == Kind::kActive) {
      std::string work = JoinPath(temp, "work");
      if (mkdir(work.c_str(), 0711) != 0) return ErrnoError(errno, "mkdir", work);
    }
    ASSIGN_OR_RETURN(s, txn.CreateSnapshot(kind, key, parent, labels));
    if (!s.parent_ids.empty()) {
      // The new upper dir starts owned like the parent's root, so the merged root keeps its
      // owner once the upper dir shadows it.
      struct stat st;
      std::string parent_fs = UpperPath(s.parent_ids.front());
      if (stat(parent_fs.c_str(), &st) != 0) return ErrnoError(errno, "stat parent", parent_fs);
      if (lchown(fs.c_str(), st.st_uid, st.st_gid) != 0) return ErrnoError(errno, "chown", fs);
    }
    std::string path = SnapshotDir(s.id);
    if (rename(temp.c_str(), path.c_str()) != 0) return ErrnoError(errno, "rename", temp);
    std::move(remove_temp).Cancel();
    final_path = path;
    return absl::OkStatus();
  }));
  std::move(remove_final).Cancel();
  return MountsFor(s);
}

std::vector<Mount> OverlaySnapshotter::MountsFor(const storage::Snapshot& s) const {
  if (s.parent_ids.empty()) {
    // One layer: overlay needs at least one lower dir, a bind mount does the job.
    return {Mount{"bind", UpperPath(s.id), "", {s.kind == Kind::kView ? "ro" : "rw", "rbind"}}};
  }
  if (s.kind == Kind::kView && s.parent_ids.size() == 1) {
    return {Mount{"bind", UpperPath(s.parent_ids.front()), "", {"ro", "rbind"}}};
  }
  std::vector<std::string> options;
  if (index_off_) options.push_back("index=off");
  if (userxattr_) options.push_back("userxattr");
  if (s.kind == Kind::kActive) {
    options.push_back(absl::StrCat("workdir=", MountWorkPath(s.id)));
    options.push_back(absl::StrCat("upperdir=", MountUpperPath(s.id)));
  }
  std::vector<std::string> lowers;
  lowers.reserve(s.parent_ids.size());
  for (const std::string& id : s.parent_ids) lowers.push_back(MountUpperPath(id));
  options.push_back(absl::StrCat("lowerdir=", absl::StrJoin(lowers, ":")));
  return {Mount{"overlay", "overlay", "", std::move(options)}};
}

absl::Status OverlaySnapshotter::Commit(absl::string_view name, absl::string_view key,
                                        const Labels& labels) {
  return ms_->Update([&](MetaStore::Transaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(Record record, txn.GetInfo(key));
    if (record.info.kind != Kind::kActive) {
      return FailedPrecondition(absl::StrCat("commit `", key, "`: snapshot is not active"));
    }
    ASSIGN_OR_RETURN(snapshotter::Usage usage, DiskUsage(UpperPath(record.id)));
    return txn.CommitActive(key, name, usage, labels).status();
  });
}

absl::Status OverlaySnapshotter::Remove(absl::string_view key) {
  std::string id;
  RETURN_IF_ERROR(ms_->Update(
      [&](MetaStore::Transaction& txn) -> absl::Status {
        ASSIGN_OR_RETURN(auto removed, txn.Remove(key));
        id = removed.first;
        return absl::OkStatus();
      },
      options_.synced_remove ? MetaStore::Durability::kSynced
                             : MetaStore::Durability::kUnsynced));
  // The key is gone once the transaction commits; a failure to delete files is only logged and
  // left for Cleanup, like containerd.
  if (!options_.async_remove) RemoveDirs({SnapshotDir(id)});
  return absl::OkStatus();
}

absl::Status OverlaySnapshotter::Walk(absl::FunctionRef<absl::Status(const SnapshotInfo&)> fn) {
  return ms_->View([&](MetaStore::Transaction& txn) {
    return txn.WalkInfo([&](const Record& record) { return fn(record.info); });
  });
}

absl::StatusOr<std::vector<std::string>> OverlaySnapshotter::OrphanDirs(
    MetaStore::Transaction& txn) {
  ASSIGN_OR_RETURN(auto ids, txn.IdMap());
  DIR* dir = opendir(SnapshotsDir().c_str());
  if (dir == nullptr) return ErrnoError(errno, "opendir", SnapshotsDir());
  std::vector<std::string> orphans;
  while (struct dirent* entry = readdir(dir)) {
    absl::string_view name = entry->d_name;
    if (name == "." || name == ".." || ids.contains(name)) continue;
    orphans.push_back(SnapshotDir(name));
  }
  closedir(dir);
  return orphans;
}

absl::Status OverlaySnapshotter::Cleanup() {
  std::vector<std::string> orphans;
  // A write transaction: no snapshot is being created while we list (temp dirs are made
  // inside write transactions), so every directory found unowned is garbage.
  RETURN_IF_ERROR(ms_->Update([&](MetaStore::Transaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(orphans, OrphanDirs(txn));
    return absl::OkStatus();
  }));
  RemoveDirs(orphans);
  return absl::OkStatus();
}

}  // namespace berth::snapshotter::overlay
