#include "plugins/base/status_util.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace berth {

absl::Status ErrnoError(int errno_value, absl::string_view operation, absl::string_view object) {
  std::string message(operation);
  if (!object.empty()) {
    absl::StrAppend(&message, " `", object, "`");
  }
  return absl::ErrnoToStatus(errno_value, message);
}

absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) {
    return status;
  }
  return absl::Status(status.code(), absl::StrCat(context, ": ", status.message()));
}

absl::Status NotFound(absl::string_view what) {
  return absl::NotFoundError(absl::StrCat(what, ": not found"));
}
absl::Status AlreadyExists(absl::string_view what) {
  return absl::AlreadyExistsError(absl::StrCat(what, ": already exists"));
}
absl::Status InvalidArgument(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": invalid argument"));
}
absl::Status FailedPrecondition(absl::string_view what) {
  return absl::FailedPreconditionError(absl::StrCat(what, ": failed precondition"));
}
absl::Status Unavailable(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": unavailable"));
}
absl::Status Unimplemented(absl::string_view what) {
  return absl::UnimplementedError(absl::StrCat(what, ": not implemented"));
}

}  // namespace berth
