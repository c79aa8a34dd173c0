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

// An ingest that reaches this size is written and hashed by an AsyncAppender from then on,
// while the caller receives the next bytes; smaller ones (manifests, configs) are written
// inline without threads.
constexpr int64_t kAsyncFromBytes = 1 << 20;

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
      status_(std::move(status)) {}

LocalContentWriter::~LocalContentWriter() {
  if (!fd_) {
    return;
  }
  if (int error = StopAppender(); error != 0) {
    BERTH_LOG(WARN) << "write ingest `" << ingest_dir_ << "`: " << strerror(error);
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

absl::Status LocalContentWriter::Write(absl::string_view data) {
  RETURN_IF_ERROR(CheckOpen());
  const int64_t size = static_cast<int64_t>(data.size());
  if (appender_ == nullptr && status_.offset + size >= kAsyncFromBytes) {
    int64_t expected_more = status_.total > status_.offset ? status_.total - status_.offset : 0;
    ASSIGN_OR_RETURN(appender_, AsyncAppender::Start(JoinPath(ingest_dir_, kDataFile), fd_.get(),
                                                     status_.offset, expected_more, hasher_));
  }
  if (appender_ == nullptr) {
    RETURN_IF_ERROR(WriteInline(data));
    hasher_.Update(data);
  } else if (int error = appender_->Append(data); error != 0) {
    return AppendFailed(error);
  }
  status_.offset += size;
  status_.updated_at = absl::Now();
  return absl::OkStatus();
}

absl::Status LocalContentWriter::WriteInline(absl::string_view data) {
  int error = PwriteFull(fd_.get(), data.data(), data.size(), status_.offset);
  if (error == 0) return absl::OkStatus();
  std::string path = JoinPath(ingest_dir_, kDataFile);
  // All or nothing: cut off whatever part reached the file, so offset and digest keep
  // describing the same bytes.
  if (ftruncate(fd_.get(), status_.offset) != 0) {
    BERTH_LOG(ERROR) << "truncate `" << path << "` after failed write: " << strerror(errno);
    fd_.Reset();  // unusable; a new writer resumes from what is on disk
  }
  return ErrnoError(error, "write", path);
}

absl::Status LocalContentWriter::AppendFailed(int error) {
  appender_.reset();
  absl::Status failed = ErrnoError(error, "write", JoinPath(ingest_dir_, kDataFile));
  // The appender wrote a prefix of the bytes before it stopped: go on from there, without any
  // of this call's bytes (all or nothing).
  struct stat st;
  if (fstat(fd_.get(), &st) != 0 ||
      !Truncate(std::min<int64_t>(st.st_size, status_.offset)).ok()) {
    fd_.Reset();  // unusable; a new writer resumes from what is on disk
  }
  return failed;
}

int LocalContentWriter::StopAppender() {
  if (appender_ == nullptr) return 0;
  int error = appender_->Drain();
  appender_.reset();
  return error;
}

absl::Status LocalContentWriter::Truncate(int64_t size) {
  RETURN_IF_ERROR(CheckOpen());
  if (size < 0 || size > status_.offset) {
    return InvalidArgument(
        absl::StrCat("truncate ingest ref ", status_.ref, " to ", size, " of ", status_.offset));
  }
  if (int error = StopAppender(); error != 0) {
    // What the file holds is re-read below; the failed bytes are past `size` or re-counted.
    BERTH_LOG(WARN) << "write ingest `" << ingest_dir_ << "`: " << strerror(error);
  }
  if (ftruncate(fd_.get(), size) != 0) {
    return ErrnoError(errno, "truncate", JoinPath(ingest_dir_, kDataFile));
  }
  return RestartAt(size);
}

absl::Status LocalContentWriter::RestartAt(int64_t size) {
  hasher_.Reset();
  status_.offset = 0;
  status_.updated_at = absl::Now();
  if (size > 0) {
    absl::StatusOr<int64_t> hashed = HashFd(fd_.get(), size, hasher_);
    if (!hashed.ok()) {
      fd_.Reset();  // digest unknown: unusable; a new writer rebuilds it from disk
      return hashed.status();
    }
    status_.offset = *hashed;
  }
  return absl::OkStatus();
}

content::Digest LocalContentWriter::Digest() const {
  // The appender's threads hash behind the caller: let them catch up (a failed write, if any,
  // is reported by the next Write or Commit).
  if (appender_ != nullptr) (void)appender_->Drain();
  return hasher_.Sum();
}

content::Status LocalContentWriter::Status() const { return status_; }

absl::Status LocalContentWriter::Commit(int64_t size, const content::Digest& expected,
                                        const Labels& /*labels: not stored here*/) {
  RETURN_IF_ERROR(CheckOpen());
  // Closed and unlocked whatever the outcome (containerd's contract). On a size or digest
  // mismatch, or a failed write, the ingest stays on disk for a later writer.
  int write_error = StopAppender();
  UniqueFd fd = std::move(fd_);
  RefLock lock = std::move(lock_);
  std::string data_path = JoinPath(ingest_dir_, kDataFile);
  if (write_error != 0) {
    return ErrnoError(write_error, "write", data_path);
  }

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
