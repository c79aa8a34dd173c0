#pragma once

// ScopedTempDir creates a fresh directory and removes it, with everything inside, when it goes
// out of scope unless Release()d. Used for half-built state (a snapshot being prepared, an
// ingest, a test's daemon root).

#include <string>

#include "absl/status/statusor.h"

namespace berth {

class ScopedTempDir {
 public:
  // Creates `<parent>/<prefix>XXXXXX`. `parent` must exist.
  static absl::StatusOr<ScopedTempDir> Create(const std::string& parent, const std::string& prefix);

  ScopedTempDir(ScopedTempDir&& other) noexcept;
  ScopedTempDir& operator=(ScopedTempDir&& other) noexcept;
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
  ~ScopedTempDir();

  const std::string& path() const { return path_; }
  // Keeps the directory; returns its path.
  std::string Release();

 private:
  explicit ScopedTempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace berth
