#pragma once

// Small helpers that build absl::Status values the way the whole project words errors:
// lowercase, operation first, object in backticks ("open `/run/berth/x`: No such file").
// Messages that cross the gRPC edge end in containerd's errdefs class text ("...: not found")
// so Go clients, which strip that suffix, print them without doubling it.

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace berth {

// An error from errno, e.g. ErrnoError(errno, "open", path) -> "open `path`: <strerror>".
// The code follows absl::ErrnoToStatus (ENOENT -> kNotFound, EEXIST -> kAlreadyExists, ...).
absl::Status ErrnoError(int errno_value, absl::string_view operation, absl::string_view object = {});

// Prefixes `context` to the message of `status` and keeps its code (Go's %w wrapping).
// An OK status stays OK.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

// errdefs-style constructors: "<what>: not found", "<what>: already exists", ...
absl::Status NotFound(absl::string_view what);
absl::Status AlreadyExists(absl::string_view what);
absl::Status InvalidArgument(absl::string_view what);
absl::Status FailedPrecondition(absl::string_view what);
absl::Status Unavailable(absl::string_view what);
absl::Status Unimplemented(absl::string_view what);

}  // namespace berth
