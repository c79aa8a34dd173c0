#include "content/local/local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "content/local/ingest.h"
#include "content/local/local_writer.h"
#include "plugins/base/file_util.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"

namespace berth::content::local {
namespace {

struct DirCloser {
  void operator()(DIR* dir) const { closedir(dir); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

absl::StatusOr<DirPtr> OpenDir(const std::string& path) {
  DirPtr dir(opendir(path.c_str()));
  if (dir == nullptr) {
    return ErrnoError(errno, "opendir", path);
  }
  return dir;
}

class LocalReader final : public ContentReader {
 public:
  LocalReader(UniqueFd fd, int64_t size) : fd_(std::move(fd)), size_(size) {}

  using ContentReader::ReadAt;
  absl::StatusOr<size_t> ReadAt(int64_t offset, absl::Span<char> buf) override {
    if (offset < 0) {
      return InvalidArgument(absl::StrCat("read at negative offset ", offset));
    }
    size_t done = 0;
    while (done < buf.size()) {
      ssize_t n = pread(fd_.get(), buf.data() + done, buf.size() - done,
                        offset + static_cast<int64_t>(done));
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return ErrnoError(errno, "read", "blob");
      }
      if (n == 0) {
        break;
      }
      done += static_cast<size_t>(n);
    }
    return done;
  }

  int64_t Size() const override { return size_; }

 private:
  UniqueFd fd_;
  int64_t size_;
};

Info BlobInfo(const Digest& digest, const struct stat& st) {
  Info info;
  info.digest = digest;
  info.size = st.st_size;
  // Commit stamps the mtime; atime (containerd's choice) moves with reads under relatime.
  info.created_at = absl::TimeFromTimespec(st.st_mtim);
  info.updated_at = info.created_at;
  return info;
}

// Removes ingest/.tmp-* directories older than an hour: leftovers of a crash mid-creation.
void RemoveStaleTempDirs(const std::string& ingest_dir) {
  absl::StatusOr<DirPtr> dir = OpenDir(ingest_dir);
  if (!dir.ok()) {
    return;
  }
  absl::Time cutoff = absl::Now() - absl::Hours(1);
  while (struct dirent* entry = readdir(dir->get())) {
    struct stat st;
    if (!absl::StartsWith(entry->d_name, kTempPrefix) ||
        fstatat(dirfd(dir->get()), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        absl::TimeFromTimespec(st.st_mtim) > cutoff) {
      continue;
    }
    if (absl::Status s = RemoveAll(JoinPath(ingest_dir, entry->d_name)); !s.ok()) {
      BERTH_LOG(WARN) << "remove stale ingest: " << s;
    }
  }
}

}  // namespace

LocalContentStore::LocalContentStore(std::string root)
    : root_(std::move(root)),
      blob_dir_(JoinPath(JoinPath(root_, "blobs"), Digest::kSha256)),
      ingest_dir_(JoinPath(root_, "ingest")) {}

absl::StatusOr<std::unique_ptr<LocalContentStore>> LocalContentStore::Create(
    const std::string& root) {
  std::unique_ptr<LocalContentStore> store(new LocalContentStore(root));
  RETURN_IF_ERROR(MkdirAll(store->blob_dir_, 0755));
  RETURN_IF_ERROR(MkdirAll(store->ingest_dir_, 0755));
  RemoveStaleTempDirs(store->ingest_dir_);
  return store;
}

absl::StatusOr<std::string> LocalContentStore::BlobPath(const content::Digest& digest) const {
  if (digest.empty()) {
    return InvalidArgument("empty digest");
  }
  RETURN_IF_ERROR(Digest::Validate(digest.string()));
  return JoinPath(blob_dir_, digest.hex());
}

std::string LocalContentStore::IngestPath(absl::string_view ref) const {
  return JoinPath(ingest_dir_, IngestDirName(ref));
}

absl::StatusOr<content::Info> LocalContentStore::Info(const content::Digest& digest) {
  ASSIGN_OR_RETURN(std::string path, BlobPath(digest));
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return NotFound(absl::StrCat("content ", digest.string()));
    }
    return ErrnoError(errno, "stat", path);
  }
  return BlobInfo(digest, st);
}

absl::StatusOr<content::Info> LocalContentStore::Update(
    const content::Info& info, const std::vector<std::string>& fieldpaths) {
  return FailedPrecondition("update not supported on immutable content store");
}

absl::Status LocalContentStore::Walk(absl::FunctionRef<absl::Status(const content::Info&)> fn) {
  ASSIGN_OR_RETURN(DirPtr dir, OpenDir(blob_dir_));
  while (struct dirent* entry = readdir(dir.get())) {
    absl::string_view name = entry->d_name;
    if (name.empty() || name[0] == '.') {
      continue;
    }
    absl::StatusOr<Digest> digest = Digest::Parse(absl::StrCat(Digest::kSha256, ":", name));
    if (!digest.ok()) {
      BERTH_LOG(WARN) << "content store: unexpected file in `" << blob_dir_ << "`: " << name;
      continue;
    }
    struct stat st;
    if (fstatat(dirfd(dir.get()), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) {
        continue;  // deleted while walking
      }
      return ErrnoError(errno, "stat", JoinPath(blob_dir_, name));
    }
    if (!S_ISREG(st.st_mode)) {
      continue;
    }
    RETURN_IF_ERROR(fn(BlobInfo(*digest, st)));
  }
  return absl::OkStatus();
}

absl::Status LocalContentStore::Delete(const content::Digest& digest) {
  ASSIGN_OR_RETURN(std::string path, BlobPath(digest));
  if (unlink(path.c_str()) != 0) {
    if (errno == ENOENT) {
      return NotFound(absl::StrCat("content ", digest.string()));
    }
    return ErrnoError(errno, "unlink", path);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ContentReader>> LocalContentStore::OpenReader(
    const content::Digest& digest) {
  ASSIGN_OR_RETURN(std::string path, BlobPath(digest));
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) {
      return NotFound(absl::StrCat("content ", digest.string()));
    }
    return ErrnoError(errno, "open", path);
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0) {
    return ErrnoError(errno, "stat", path);
  }
  return std::make_unique<LocalReader>(std::move(fd), st.st_size);
}

absl::StatusOr<std::unique_ptr<ContentWriter>> LocalContentStore::OpenWriter(
    absl::string_view ref, int64_t expected_size, const content::Digest& expected) {
  if (ref.empty()) {
    return InvalidArgument("ref must not be empty");
  }
  if (expected_size < 0) {
    return InvalidArgument(absl::StrCat("negative expected size ", expected_size));
  }
  if (!expected.empty()) {
    ASSIGN_OR_RETURN(std::string blob, BlobPath(expected));
    if (PathExists(blob)) {
      return AlreadyExists(absl::StrCat("content ", expected.string()));
    }
  }
  std::string dir = IngestPath(ref);
  ASSIGN_OR_RETURN(RefLock lock, RefLock::TryAcquire(dir, ref));

  // Resume a sound ingest of this ref; restart a damaged one, or one whose recorded total
  // contradicts the caller's (containerd recreates in both cases).
  absl::StatusOr<content::Status> status = ReadIngestStatus(dir);
  bool resume = status.ok() && status->ref == ref &&
                !(expected_size > 0 && status->total > 0 && status->total != expected_size);
  if (resume) {
    if (expected_size > 0 && status->total == 0) {
      RETURN_IF_ERROR(WriteSmallFile(JoinPath(dir, kTotalFile), absl::StrCat(expected_size)));
      status->total = expected_size;
    }
    if (!expected.empty() && status->expected != expected) {
      RETURN_IF_ERROR(WriteSmallFile(JoinPath(dir, kExpectedFile), expected.string()));
      status->expected = expected;
    }
  } else {
    if (PathExists(dir)) {
      BERTH_LOG(INFO) << "restarting ingest of ref " << ref << ": "
                      << (status.ok() ? "total or ref mismatch" : status.status().ToString());
      RETURN_IF_ERROR(RemoveAll(dir));
    }
    RETURN_IF_ERROR(CreateIngest(dir, ref, expected_size, expected));
    ASSIGN_OR_RETURN(status, ReadIngestStatus(dir));
  }

  std::string data_path = JoinPath(dir, kDataFile);
  UniqueFd fd(open(data_path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) {
    return ErrnoError(errno, "open", data_path);
  }
  Sha256 hasher;
  if (status->offset > 0) {
    // Rebuild the digest of what is there: one sequential read of the ingest.
    ASSIGN_OR_RETURN(status->offset, HashFd(fd.get(), -1, hasher));
  }
  return std::make_unique<LocalContentWriter>(std::move(lock), std::move(dir), blob_dir_,
                                              std::move(fd), std::move(hasher), *std::move(status));
}

absl::Status LocalContentStore::CreateIngest(const std::string& dir, absl::string_view ref,
                                             int64_t total, const content::Digest& expected) {
  std::string tmpl = absl::StrCat(ingest_dir_, "/", kTempPrefix, IngestDirName(ref), "-XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) {
    return ErrnoError(errno, "mkdtemp", tmpl);
  }
  const std::string& tmp = tmpl;
  absl::Cleanup remove_tmp = [&tmp] { (void)RemoveAll(tmp); };
  if (chmod(tmp.c_str(), 0755) != 0) {
    return ErrnoError(errno, "chmod", tmp);
  }
  absl::Time now = absl::Now();
  RETURN_IF_ERROR(WriteSmallFile(JoinPath(tmp, kRefFile), ref));
  RETURN_IF_ERROR(WriteTimestampFile(JoinPath(tmp, kStartedAtFile), now));
  RETURN_IF_ERROR(WriteTimestampFile(JoinPath(tmp, kUpdatedAtFile), now));
  if (total > 0) {
    RETURN_IF_ERROR(WriteSmallFile(JoinPath(tmp, kTotalFile), absl::StrCat(total)));
  }
  if (!expected.empty()) {
    RETURN_IF_ERROR(WriteSmallFile(JoinPath(tmp, kExpectedFile), expected.string()));
  }
  RETURN_IF_ERROR(WriteSmallFile(JoinPath(tmp, kDataFile), ""));
  if (rename(tmp.c_str(), dir.c_str()) != 0) {
    return ErrnoError(errno, "rename", tmp);
  }
  std::move(remove_tmp).Cancel();
  return absl::OkStatus();
}

absl::StatusOr<content::Status> LocalContentStore::Status(absl::string_view ref) {
  absl::StatusOr<content::Status> status = ReadIngestStatus(IngestPath(ref));
  if ((!status.ok() && absl::IsNotFound(status.status())) || (status.ok() && status->ref != ref)) {
    return NotFound(absl::StrCat("ingest ref \"", ref, "\""));
  }
  return status;
}

absl::StatusOr<std::vector<content::Status>> LocalContentStore::ListStatuses() {
  ASSIGN_OR_RETURN(DirPtr dir, OpenDir(ingest_dir_));
  std::vector<content::Status> out;
  while (struct dirent* entry = readdir(dir.get())) {
    if (entry->d_name[0] == '.') {
      continue;
    }
    // An ingest committed or aborted meanwhile, or a damaged one, is simply not listed.
    absl::StatusOr<content::Status> status = ReadIngestStatus(JoinPath(ingest_dir_, entry->d_name));
    if (status.ok()) {
      out.push_back(*std::move(status));
    } else {
      BERTH_LOG(DEBUG) << "skipping ingest " << entry->d_name << ": " << status.status();
    }
  }
  return out;
}

absl::Status LocalContentStore::Abort(absl::string_view ref) {
  std::string dir = IngestPath(ref);
  if (!PathExists(dir)) {
    return NotFound(absl::StrCat("ingest ref \"", ref, "\""));
  }
  return RemoveAll(dir);
}

}  // namespace berth::content::local
