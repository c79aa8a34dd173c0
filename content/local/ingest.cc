#include "content/local/ingest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"

namespace berth::content::local {
namespace {

absl::Mutex g_locks_mu(absl::kConstInit);
// ingest dir path -> when it was locked.
absl::flat_hash_map<std::string, absl::Time>* g_locks ABSL_GUARDED_BY(g_locks_mu) = nullptr;

absl::StatusOr<absl::Time> ReadTimestampFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, absl::StripAsciiWhitespace(text), &t, &err)) {
    return NotFound(absl::StrCat("parse timestamp `", path, "`: ", err));
  }
  return t;
}

}  // namespace

std::string IngestDirName(absl::string_view ref) {
  return std::string(Digest::FromBytes(ref).hex());
}

absl::StatusOr<Status> ReadIngestStatus(const std::string& dir) {
  struct stat st;
  std::string data = JoinPath(dir, kDataFile);
  if (stat(data.c_str(), &st) != 0) {
    if (errno == ENOTDIR) {
      return NotFound(absl::StrCat("ingest `", dir, "`: not a directory"));
    }
    return ErrnoError(errno, "stat", data);
  }
  if (!S_ISREG(st.st_mode)) {
    return NotFound(absl::StrCat("ingest `", dir, "`: data is not a file"));
  }
  Status status;
  ASSIGN_OR_RETURN(status.ref, ReadFile(JoinPath(dir, kRefFile)));
  if (status.ref.empty()) {
    return NotFound(absl::StrCat("ingest `", dir, "`: empty ref"));
  }
  status.offset = st.st_size;
  ASSIGN_OR_RETURN(status.started_at, ReadTimestampFile(JoinPath(dir, kStartedAtFile)));
  status.updated_at = absl::TimeFromTimespec(st.st_mtim);
  if (absl::StatusOr<absl::Time> t = ReadTimestampFile(JoinPath(dir, kUpdatedAtFile));
      t.ok() && *t > status.updated_at) {
    status.updated_at = *t;
  }
  if (absl::StatusOr<std::string> total = ReadFile(JoinPath(dir, kTotalFile)); total.ok()) {
    int64_t v = 0;
    if (absl::SimpleAtoi(*total, &v) && v > 0) {
      status.total = v;
    }
  }
  if (absl::StatusOr<std::string> expected = ReadFile(JoinPath(dir, kExpectedFile));
      expected.ok()) {
    if (absl::StatusOr<Digest> d = Digest::Parse(*expected); d.ok()) {
      status.expected = *std::move(d);
    }
  }
  return status;
}

absl::Status WriteSmallFile(const std::string& path, absl::string_view data) {
  std::string tmp = absl::StrCat(path, ".tmp");
  UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) {
    return ErrnoError(errno, "create", tmp);
  }
  while (!data.empty()) {
    ssize_t n = write(fd.get(), data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError(errno, "write", tmp);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  RETURN_IF_ERROR(fd.Close());
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return ErrnoError(errno, "rename", tmp);
  }
  return absl::OkStatus();
}

absl::Status WriteTimestampFile(const std::string& path, absl::Time t) {
  return WriteSmallFile(path, absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone()));
}

absl::StatusOr<RefLock> RefLock::TryAcquire(const std::string& key, absl::string_view ref) {
  absl::MutexLock lock(&g_locks_mu);
  if (g_locks == nullptr) {
    g_locks = new absl::flat_hash_map<std::string, absl::Time>();
  }
  absl::Time now = absl::Now();
  auto [it, inserted] = g_locks->try_emplace(key, now);
  if (!inserted) {
    // The duration tells a dead lock (long) from contention (short), as in containerd.
    return Unavailable(absl::StrCat("ref ", ref, " locked for ",
                                    absl::FormatDuration(now - it->second), " (since ",
                                    absl::FormatTime(it->second), ")"));
  }
  return RefLock(key);
}

bool RefLock::IsHeld(const std::string& key) {
  absl::MutexLock lock(&g_locks_mu);
  return g_locks != nullptr && g_locks->contains(key);
}

RefLock& RefLock::operator=(RefLock&& other) noexcept {
  if (this != &other) {
    Release();
    key_ = std::move(other.key_);
    other.key_.clear();
  }
  return *this;
}

void RefLock::Release() {
  if (key_.empty()) {
    return;
  }
  absl::MutexLock lock(&g_locks_mu);
  g_locks->erase(key_);
  key_.clear();
}

}  // namespace berth::content::local
