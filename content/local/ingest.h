#pragma once

// Internal to the local content store: the on-disk ingest directory and the per-ref lock.
// See local_store.h for the layout.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "content/content_store.h"

namespace berth::content::local {

// File names inside ingest/<sha256(ref)>/.
inline constexpr absl::string_view kRefFile = "ref";
inline constexpr absl::string_view kDataFile = "data";
inline constexpr absl::string_view kTotalFile = "total";
inline constexpr absl::string_view kExpectedFile = "expected";
inline constexpr absl::string_view kStartedAtFile = "startedat";
inline constexpr absl::string_view kUpdatedAtFile = "updatedat";
// Ingest directories are built under this prefix and renamed into place, so a crash never
// leaves a half-made ingest/<hex>; entries with a leading '.' are not ingests.
inline constexpr absl::string_view kTempPrefix = ".tmp-";

// The ingest directory name of `ref`: the hex sha256 of the ref text (constant length,
// any bytes allowed in refs), as containerd does.
std::string IngestDirName(absl::string_view ref);

// Reads the status of the ingest at `dir`. kNotFound if the directory, `data` or `ref` is
// missing, `ref` is empty or the timestamps do not parse (a half-made or damaged ingest counts
// as absent; containerd#3089). `total`/`expected` are optional (0 / empty when missing or
// unparsable). updated_at is the later of `updatedat` and the data file's mtime, since
// `updatedat` is only written when a writer closes.
absl::StatusOr<Status> ReadIngestStatus(const std::string& dir);

// Small metadata files are written to a temp name and renamed, without fsync: a crash may
// lose them, which ReadIngestStatus reports as a damaged (restartable) ingest.
absl::Status WriteSmallFile(const std::string& path, absl::string_view data);
absl::Status WriteTimestampFile(const std::string& path, absl::Time t);

// Process-wide exclusive lock on one ingest directory (keyed by its path, so two stores on
// different roots do not collide). Move-only; released on destruction or Release().
class RefLock {
 public:
  // kUnavailable "ref <ref> locked" if held.
  static absl::StatusOr<RefLock> TryAcquire(const std::string& key, absl::string_view ref);
  static bool IsHeld(const std::string& key);

  RefLock() = default;
  RefLock(RefLock&& other) noexcept : key_(std::move(other.key_)) { other.key_.clear(); }
  RefLock& operator=(RefLock&& other) noexcept;
  RefLock(const RefLock&) = delete;
  RefLock& operator=(const RefLock&) = delete;
  ~RefLock() { Release(); }

  void Release();

 private:
  explicit RefLock(std::string key) : key_(std::move(key)) {}
  std::string key_;  // empty when not holding
};

}  // namespace berth::content::local
