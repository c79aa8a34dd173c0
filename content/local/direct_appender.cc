#include "content/local/direct_appender.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <algorithm>
#include <cstring>

namespace berth::content::local {
namespace {

constexpr size_t kAlign = 4096;
constexpr size_t kBufferBytes = 8 << 20;

// pwrite(2) of all of [data, data + size) at `offset`; 0 or errno.
int PwriteAll(int fd, const char* data, size_t size, int64_t offset) {
  while (size > 0) {
    ssize_t n = pwrite(fd, data, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    data += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return 0;
}

}  // namespace

std::unique_ptr<DirectAppender> DirectAppender::Open(const std::string& path, int64_t offset) {
  if (offset % static_cast<int64_t>(kAlign) != 0) return nullptr;
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC));
  if (!fd.valid()) return nullptr;
  void* buffer = nullptr;
  if (posix_memalign(&buffer, kAlign, kBufferBytes) != 0) return nullptr;
  return std::unique_ptr<DirectAppender>(
      new DirectAppender(std::move(fd), static_cast<char*>(buffer), offset));
}

DirectAppender::~DirectAppender() { free(buffer_); }

int DirectAppender::Append(absl::string_view data, int buffered_fd) {
  while (!data.empty()) {
    size_t n = std::min(data.size(), kBufferBytes - used_);
    memcpy(buffer_ + used_, data.data(), n);
    used_ += n;
    data.remove_prefix(n);
    if (size_t aligned = used_ - used_ % kAlign; aligned > 0) {
      if (int error = WriteDirect(aligned); error != 0) return error;
    }
  }
  return used_ == 0 ? 0 : PwriteAll(buffered_fd, buffer_, used_, file_offset_);
}

int DirectAppender::WriteDirect(size_t bytes) {
  if (int error = PwriteAll(fd_.get(), buffer_, bytes, file_offset_); error != 0) return error;
  file_offset_ += static_cast<int64_t>(bytes);
  memmove(buffer_, buffer_ + bytes, used_ - bytes);
  used_ -= bytes;
  return 0;
}

}  // namespace berth::content::local
