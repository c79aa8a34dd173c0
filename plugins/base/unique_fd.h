#pragma once

// UniqueFd owns a file descriptor: move-only, closes it on destruction (errors ignored there;
// call Close() where a close error matters, e.g. after writing data that must be durable).
// Take ownership by value (`Create(UniqueFd fd)`), borrow as a plain int via get().

#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/status/status.h"

namespace berth {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset(other.Release());
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  // Gives up ownership without closing.
  [[nodiscard]] int Release() { return std::exchange(fd_, -1); }

  // Closes the current fd (if any) and takes `fd`.
  void Reset(int fd = -1) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = fd;
  }

  // Closes and reports the error of close(2).
  absl::Status Close() {
    int fd = Release();
    if (fd >= 0 && ::close(fd) != 0) {
      return absl::ErrnoToStatus(errno, "close");
    }
    return absl::OkStatus();
  }

 private:
  int fd_ = -1;
};

}  // namespace berth
