#include "content/local/local_writer.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "plugins/base/file_util.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"

namespace berth::content::local {
namespace {

// Writeback is started every this many bytes (RocksDB's bytes_per_sync idea): dirty pages
// do not pile up, and the fsync at Commit has little left to do.
constexpr int64_t kWritebackBytes = 8 << 20;

// Writes at least this big are copied by the PwriteWorker while the caller hashes; below it a
// thread handoff costs more than it saves.
constexpr size_t kOverlapBytes = 128 << 10;

// rename(2) that fails with EEXIST instead of replacing `to`.
absl::Status RenameNoReplace(const std::string& from, const std::string& to) {
  if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
    return absl::OkStatus();
  }
  if (errno != EINVAL && errno != ENOSYS) {
    return ErrnoError(errno, "rename", from);
  }
  // Filesystem without RENAME_NOREPLACE: check, then rename. Racing commits of one digest
  // carry identical bytes, so the window is harmless.
  if (PathExists(to)) {
    return ErrnoError(EEXIST, "rename", from);
  }
  if (rename(from.c_str(), to.c_str()) != 0) {
    return ErrnoError(errno, "rename", from);
  }
  return absl::OkStatus();
}

}  // namespace

LocalContentWriter::LocalContentWriter(RefLock lock, std::string ingest_dir, std::string blob_dir,
                                       UniqueFd data_fd, Sha256 hasher, content::Status status)
    : lock_(std::move(lock)),
      ingest_dir_(std::move(ingest_dir)),
      blob_dir_(std::move(blob_dir)),
      fd_(std::move(data_fd)),
      hasher_(std::move(hasher)),
      status_(std::move(status)),
      writeback_from_(status_.offset) {}

LocalContentWriter::~LocalContentWriter() {
  if (!fd_) {
    return;
  }
  // The ingest stays for a later writer. containerd syncs here too: a resumed ingest must hold
  // the bytes the Status it reported promised.
  if (fdatasync(fd_.get()) != 0) {
    BERTH_LOG(WARN) << "sync ingest `" << ingest_dir_ << "`: " << strerror(errno);
  }
  if (absl::Status s =
          WriteTimestampFile(JoinPath(ingest_dir_, kUpdatedAtFile), status_.updated_at);
      !s.ok()) {
    BERTH_LOG(WARN) << "ingest ref " << status_.ref << ": " << s;
  }
}

absl::Status LocalContentWriter::CheckOpen() const {
  if (!fd_) {
    return FailedPrecondition(absl::StrCat("ingest ref ", status_.ref, ": writer is closed"));
  }
  return absl::OkStatus();
}

int LocalContentWriter::WriteAt(absl::string_view data, int64_t offset) {
  if (direct_ != nullptr) return direct_->Append(data, fd_.get());
  while (!data.empty()) {
    ssize_t n = pwrite(fd_.get(), data.data(), data.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += n;
  }
  return 0;
}

absl::Status LocalContentWriter::Write(absl::string_view data) {
  RETURN_IF_ERROR(CheckOpen());
  const int64_t offset = status_.offset;
  int error = 0;
  if (data.size() >= kOverlapBytes) {
    if (!direct_tried_) {
      direct_tried_ = true;
      direct_ = DirectAppender::Open(JoinPath(ingest_dir_, kDataFile), offset);
    }
    // Write on the worker while this thread hashes the same bytes.
    if (worker_ == nullptr) {
      worker_ = std::make_unique<PwriteWorker>();
    }
    worker_->Start([this, data, offset] { return WriteAt(data, offset); });
    Sha256 before = hasher_.Copy();
    hasher_.Update(data);
    error = worker_->Wait();
    if (error != 0) {
      hasher_ = std::move(before);
    }
  } else {
    error = WriteAt(data, offset);
    if (error == 0) {
      hasher_.Update(data);
    }
  }
  if (error != 0) {
    std::string path = JoinPath(ingest_dir_, kDataFile);
    direct_.reset();  // its staged tail may no longer match the file
    // All or nothing: cut off whatever part reached the file, so offset and digest keep
    // describing the same bytes.
    if (ftruncate(fd_.get(), offset) != 0) {
      BERTH_LOG(ERROR) << "truncate `" << path << "` after failed write: " << strerror(errno);
      fd_.Reset();  // unusable; a new writer resumes from what is on disk
    }
    return ErrnoError(error, "write", path);
  }
  status_.offset += static_cast<int64_t>(data.size());
  status_.updated_at = absl::Now();
  MaybeStartWriteback();
  return absl::OkStatus();
}

void LocalContentWriter::MaybeStartWriteback() {
  int64_t pending = status_.offset - writeback_from_;
  if (direct_ != nullptr || pending < kWritebackBytes) {
    return;
  }
  // Best effort: an error here resurfaces, if it matters, at Commit's fsync.
  sync_file_range(fd_.get(), writeback_from_, pending, SYNC_FILE_RANGE_WRITE);
  writeback_from_ = status_.offset;
}

absl::Status LocalContentWriter::Truncate(int64_t size) {
  RETURN_IF_ERROR(CheckOpen());
  direct_.reset();
  if (size < 0 || size > status_.offset) {
    return InvalidArgument(
        absl::StrCat("truncate ingest ref ", status_.ref, " to ", size, " of ", status_.offset));
  }
  if (ftruncate(fd_.get(), size) != 0) {
    return ErrnoError(errno, "truncate", JoinPath(ingest_dir_, kDataFile));
  }
  hasher_.Reset();
  status_.offset = 0;
  writeback_from_ = 0;
  status_.updated_at = absl::Now();
  if (size > 0) {
    absl::StatusOr<int64_t> hashed = HashFd(fd_.get(), size, hasher_);
    if (!hashed.ok()) {
      fd_.Reset();  // digest unknown: unusable; a new writer rebuilds it from disk
      return hashed.status();
    }
    status_.offset = *hashed;
    writeback_from_ = status_.offset;
  }
  return absl::OkStatus();
}

content::Digest LocalContentWriter::Digest() const { return hasher_.Sum(); }

content::Status LocalContentWriter::Status() const { return status_; }

absl::Status LocalContentWriter::Commit(int64_t size, const content::Digest& expected,
                                        const Labels& /*labels: not stored here*/) {
  RETURN_IF_ERROR(CheckOpen());
  // Closed and unlocked whatever the outcome (containerd's contract). On a size or digest
  // mismatch the ingest stays on disk for a later writer.
  worker_.reset();
  direct_.reset();
  UniqueFd fd = std::move(fd_);
  RefLock lock = std::move(lock_);
  std::string data_path = JoinPath(ingest_dir_, kDataFile);

  struct stat st;
  if (fstat(fd.get(), &st) != 0) {
    return ErrnoError(errno, "stat", data_path);
  }
  if (size > 0 && size != st.st_size) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "unexpected commit size %d, expected %d: failed precondition", st.st_size, size));
  }
  content::Digest digest = hasher_.Sum();
  if (!expected.empty() && expected != digest) {
    return absl::FailedPreconditionError(absl::StrCat("unexpected commit digest ", digest.string(),
                                                      ", expected ", expected.string(),
                                                      ": failed precondition"));
  }
  std::string target = JoinPath(blob_dir_, digest.hex());
  if (PathExists(target)) {
    return Install(digest);  // reports kAlreadyExists and cleans the ingest
  }
  // Read-only and stamped with the commit time before it becomes visible under blobs/, then
  // synced with that metadata; the ingest is made writable again if the commit fails.
  absl::Cleanup restore_mode = [&] { fchmod(fd.get(), st.st_mode & 07777); };
  struct timespec now = absl::ToTimespec(absl::Now());
  struct timespec times[2] = {now, now};
  if (fchmod(fd.get(), st.st_mode & 0444) != 0 || futimens(fd.get(), times) != 0) {
    return ErrnoError(errno, "chmod", data_path);
  }
  if (fsync(fd.get()) != 0) {
    return ErrnoError(errno, "sync", data_path);
  }
  absl::Status installed = Install(digest);
  if (installed.ok() || absl::IsAlreadyExists(installed)) {
    std::move(restore_mode).Cancel();
  }
  return installed;
}

absl::Status LocalContentWriter::Install(const content::Digest& digest) {
  std::string target = JoinPath(blob_dir_, digest.hex());
  absl::Status renamed = RenameNoReplace(JoinPath(ingest_dir_, kDataFile), target);
  if (!renamed.ok() && !absl::IsAlreadyExists(renamed)) {
    return Annotate(renamed, absl::StrCat("commit ingest ref ", status_.ref));
  }
  absl::Status synced;
  if (renamed.ok()) {
    synced = SyncDir(blob_dir_);
  }
  // The blob is in place (or was already): the ingest has served its purpose.
  if (absl::Status s = RemoveAll(ingest_dir_); !s.ok()) {
    BERTH_LOG(WARN) << "remove ingest of ref " << status_.ref << ": " << s;
  }
  if (!renamed.ok()) {
    return AlreadyExists(absl::StrCat("content ", digest.string()));
  }
  return synced;
}

}  // namespace berth::content::local
