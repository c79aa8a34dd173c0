#include "snapshotter/native/native_snapshotter.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "plugins/base/file_util.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "snapshotter/disk_usage.h"
#include "snapshotter/native/copy_dir.h"

namespace berth::snapshotter::native {
namespace {

using storage::MetaStore;
using storage::Record;

void RemoveDir(const std::string& dir) {
  if (absl::Status s = RemoveAll(dir); !s.ok()) {
    BERTH_LOG(WARN) << "native: failed to remove snapshot directory: " << s.message();
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<NativeSnapshotter>> NativeSnapshotter::Create(
    const std::string& root_arg) {
  RETURN_IF_ERROR(MkdirAll(root_arg, 0700));
  char* real = realpath(root_arg.c_str(), nullptr);
  if (real == nullptr) return ErrnoError(errno, "realpath", root_arg);
  std::string root(real);
  free(real);
  RETURN_IF_ERROR(MkdirAll(JoinPath(root, "snapshots"), 0700));
  ASSIGN_OR_RETURN(std::unique_ptr<MetaStore> ms, MetaStore::Open(JoinPath(root, "metadata")));
  return std::unique_ptr<NativeSnapshotter>(new NativeSnapshotter(root, std::move(ms)));
}

NativeSnapshotter::NativeSnapshotter(std::string root, std::unique_ptr<MetaStore> ms)
    : root_(std::move(root)), ms_(std::move(ms)) {}

NativeSnapshotter::~NativeSnapshotter() = default;

std::string NativeSnapshotter::SnapshotsDir() const { return JoinPath(root_, "snapshots"); }
std::string NativeSnapshotter::SnapshotDir(absl::string_view id) const {
  return JoinPath(SnapshotsDir(), id);
}

absl::StatusOr<SnapshotInfo> NativeSnapshotter::Stat(absl::string_view key) {
  ASSIGN_OR_RETURN(Record record, ms_->GetInfo(key));
  return std::move(record.info);
}

absl::StatusOr<SnapshotInfo> NativeSnapshotter::Update(const SnapshotInfo& info,
                                                       absl::Span<const std::string> fieldpaths) {
  return ms_->UpdateInfo(info, fieldpaths);
}

absl::StatusOr<snapshotter::Usage> NativeSnapshotter::Usage(absl::string_view key) {
  ASSIGN_OR_RETURN(Record record, ms_->GetInfo(key));
  if (record.info.kind == Kind::kActive) return DiskUsage(SnapshotDir(record.id));
  return record.usage;
}

absl::StatusOr<std::vector<Mount>> NativeSnapshotter::Mounts(absl::string_view key) {
  ASSIGN_OR_RETURN(storage::Snapshot snapshot, ms_->GetSnapshot(key));
  return MountsFor(snapshot);
}

absl::StatusOr<std::vector<Mount>> NativeSnapshotter::Prepare(absl::string_view key,
                                                              absl::string_view parent,
                                                              const Labels& labels) {
  return CreateSnapshot(Kind::kActive, key, parent, labels);
}

absl::StatusOr<std::vector<Mount>> NativeSnapshotter::View(absl::string_view key,
                                                           absl::string_view parent,
                                                           const Labels& labels) {
  return CreateSnapshot(Kind::kView, key, parent, labels);
}

absl::StatusOr<std::vector<Mount>> NativeSnapshotter::CreateSnapshot(Kind kind,
                                                                     absl::string_view key,
                                                                     absl::string_view parent,
                                                                     const Labels& labels) {
  storage::Snapshot s;
  std::string final_path;  // removed if the transaction fails after the rename
  absl::Cleanup remove_final = [&] {
    if (!final_path.empty()) RemoveDir(final_path);
  };
  RETURN_IF_ERROR(ms_->Update([&](MetaStore::Transaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(s, txn.CreateSnapshot(kind, key, parent, labels));
    // A view of a parent binds the parent's tree: nothing to create.
    if (kind == Kind::kView && !s.parent_ids.empty()) return absl::OkStatus();
    std::string temp = JoinPath(SnapshotsDir(), "new-XXXXXX");
    if (mkdtemp(temp.data()) == nullptr) return ErrnoError(errno, "mkdtemp", temp);
    absl::Cleanup remove_temp = [&] { RemoveDir(temp); };
    if (chmod(temp.c_str(), 0755) != 0) return ErrnoError(errno, "chmod", temp);
    if (!s.parent_ids.empty()) {
      RETURN_IF_ERROR(Annotate(CopyDir(SnapshotDir(s.parent_ids.front()), temp),
                               absl::StrCat("copy parent of `", key, "`")));
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

std::vector<Mount> NativeSnapshotter::MountsFor(const storage::Snapshot& s) const {
  bool view = s.kind == Kind::kView;
  std::string source =
      (view && !s.parent_ids.empty()) ? SnapshotDir(s.parent_ids.front()) : SnapshotDir(s.id);
  return {Mount{"bind", std::move(source), "", {"rbind", view ? "ro" : "rw"}}};
}

absl::Status NativeSnapshotter::Commit(absl::string_view name, absl::string_view key,
                                       const Labels& labels) {
  return ms_->Update([&](MetaStore::Transaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(Record record, txn.GetInfo(key));
    if (record.info.kind != Kind::kActive) {
      return FailedPrecondition(absl::StrCat("commit `", key, "`: snapshot is not active"));
    }
    ASSIGN_OR_RETURN(snapshotter::Usage usage, DiskUsage(SnapshotDir(record.id)));
    return txn.CommitActive(key, name, usage, labels).status();
  });
}

absl::Status NativeSnapshotter::Remove(absl::string_view key) {
  std::string id;
  RETURN_IF_ERROR(ms_->Update([&](MetaStore::Transaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(auto removed, txn.Remove(key));
    id = removed.first;
    return absl::OkStatus();
  }));
  RemoveDir(SnapshotDir(id));  // absent for views of a parent: RemoveAll is then a no-op
  return absl::OkStatus();
}

absl::Status NativeSnapshotter::Walk(absl::FunctionRef<absl::Status(const SnapshotInfo&)> fn) {
  return ms_->View([&](MetaStore::Transaction& txn) {
    return txn.WalkInfo([&](const Record& record) { return fn(record.info); });
  });
}

absl::Status NativeSnapshotter::Cleanup() {
  std::vector<std::string> orphans;
  RETURN_IF_ERROR(ms_->Update([&](MetaStore::Transaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(auto ids, txn.IdMap());
    DIR* dir = opendir(SnapshotsDir().c_str());
    if (dir == nullptr) return ErrnoError(errno, "opendir", SnapshotsDir());
    while (struct dirent* entry = readdir(dir)) {
      absl::string_view name = entry->d_name;
      if (name == "." || name == ".." || ids.contains(name)) continue;
      orphans.push_back(SnapshotDir(name));
    }
    closedir(dir);
    return absl::OkStatus();
  }));
  for (const std::string& dir : orphans) RemoveDir(dir);
  return absl::OkStatus();
}

}  // namespace berth::snapshotter::native
