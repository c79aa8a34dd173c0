#pragma once

// DirectAppender: appends an ingest's bytes with O_DIRECT from an aligned staging buffer,
// bypassing the page cache. On this kind of VM a buffered write + fsync moves ~210 MB/s while
// O_DIRECT moves ~730 MB/s (dd, 1 GiB), so for large blobs the copy into the page cache, not
// hashing, was the bound of Content.Write. Internal to content/local.
//
// Whole aligned blocks go out directly. The unaligned tail (< 4 KiB) is also written through
// the ordinary (buffered) descriptor and kept staged, to go out directly with the next bytes:
// when Append returns, the file holds every byte appended (Content.Status reads its size, and a
// later writer resumes from it), so the appender can be dropped at any time.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "plugins/base/unique_fd.h"

namespace berth::content::local {

class DirectAppender {
 public:
  // nullptr when `offset` (where appends start) is not block aligned or the file system does
  // not do O_DIRECT; the caller then writes through the page cache.
  static std::unique_ptr<DirectAppender> Open(const std::string& path, int64_t offset);
  ~DirectAppender();
  DirectAppender(const DirectAppender&) = delete;
  DirectAppender& operator=(const DirectAppender&) = delete;

  // Writes `data` after what was appended before; 0 or the errno that stopped it (the file
  // then holds an unknown prefix of `data`).
  int Append(absl::string_view data, int buffered_fd);

 private:
  DirectAppender(UniqueFd fd, char* buffer, int64_t offset)
      : fd_(std::move(fd)), buffer_(buffer), file_offset_(offset) {}
  int WriteDirect(size_t bytes);  // writes buffer_[0, bytes), bytes aligned, and shifts

  UniqueFd fd_;
  char* buffer_;             // kBufferBytes, aligned to kAlign
  size_t used_ = 0;          // staged bytes
  int64_t file_offset_ = 0;  // where buffer_[0] belongs in the file (aligned)
};

}  // namespace berth::content::local
