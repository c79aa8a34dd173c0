#include "content/content_store.h"

namespace berth::content {

absl::StatusOr<std::string> ContentReader::ReadAt(int64_t offset, size_t size) {
  std::string out(size, '\0');
  absl::StatusOr<size_t> n = ReadAt(offset, absl::MakeSpan(out.data(), out.size()));
  if (!n.ok()) {
    return n.status();
  }
  out.resize(*n);
  return out;
}

}  // namespace berth::content
