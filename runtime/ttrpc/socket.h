#pragma once

// Unix socket helpers for ttrpc endpoints. Addresses are a path, "unix://<path>" (what shims
// print), or "@name" / "unix://@name" for an abstract socket.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "plugins/base/unique_fd.h"

namespace berth::ttrpc {

// "unix:///run/x.sock" -> "/run/x.sock". InvalidArgument for other schemes or an empty path.
absl::StatusOr<std::string> SocketPath(absl::string_view address);

// Binds and listens (non-blocking, close-on-exec). Fails with AlreadyExists if the path exists:
// the caller decides whether a stale socket may be removed.
absl::StatusOr<UniqueFd> ListenUnix(absl::string_view address, int backlog = 128);

// Connects (blocking connect, then the fd is made non-blocking, close-on-exec).
absl::StatusOr<UniqueFd> ConnectUnix(absl::string_view address);

absl::Status SetNonBlocking(int fd);

}  // namespace berth::ttrpc
