#include "content/helpers.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "plugins/base/status_macros.h"

namespace berth::content {

absl::StatusOr<std::string> ReadBlob(ContentStore& store, const Digest& digest) {
  ASSIGN_OR_RETURN(std::unique_ptr<ContentReader> reader, store.OpenReader(digest));
  std::string out(static_cast<size_t>(reader->Size()), '\0');
  ASSIGN_OR_RETURN(size_t n, reader->ReadAt(0, absl::MakeSpan(out.data(), out.size())));
  if (n != out.size()) {
    return absl::DataLossError(
        absl::StrCat("read content ", digest.string(), ": short read ", n, " of ", out.size()));
  }
  return out;
}

absl::Status WriteBlob(ContentStore& store, absl::string_view ref, absl::string_view data,
                       const Digest& expected) {
  const int64_t size = static_cast<int64_t>(data.size());
  absl::StatusOr<std::unique_ptr<ContentWriter>> writer = store.OpenWriter(ref, size, expected);
  if (absl::IsAlreadyExists(writer.status())) {
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(writer.status());
  if ((*writer)->Status().offset != 0) {
    RETURN_IF_ERROR((*writer)->Truncate(0));
  }
  RETURN_IF_ERROR((*writer)->Write(data));
  absl::Status committed = (*writer)->Commit(size, expected, {});
  if (absl::IsAlreadyExists(committed)) {
    return absl::OkStatus();
  }
  return committed;
}

}  // namespace berth::content
