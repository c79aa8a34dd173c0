#include "plugins/base/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <utility>

#include "plugins/base/file_util.h"
#include "plugins/base/status_util.h"

namespace berth {

absl::StatusOr<ScopedTempDir> ScopedTempDir::Create(const std::string& parent,
                                                    const std::string& prefix) {
  std::string templ = JoinPath(parent, prefix + "XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) return ErrnoError(errno, "mkdtemp", templ);
  return ScopedTempDir(std::move(templ));
}

ScopedTempDir::ScopedTempDir(ScopedTempDir&& other) noexcept : path_(other.Release()) {}

ScopedTempDir& ScopedTempDir::operator=(ScopedTempDir&& other) noexcept {
  if (this != &other) {
    if (!path_.empty()) (void)RemoveAll(path_);
    path_ = other.Release();
  }
  return *this;
}

ScopedTempDir::~ScopedTempDir() {
  if (!path_.empty()) (void)RemoveAll(path_);
}

std::string ScopedTempDir::Release() { return std::exchange(path_, std::string()); }

}  // namespace berth
