#pragma once

// One daemon per directory and per socket. A second berthd started on the same root used to
// fail to open RocksDB, skip every plugin that needs it, then remove the first one's socket
// and serve its own crippled set (Unimplemented for nearly every call) in its place; stopped,
// it removed the socket again, leaving the first daemon unreachable. Now it stops before
// touching anything, with a message that names the other daemon.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "plugins/base/unique_fd.h"

namespace berth::server {

// Takes an exclusive flock on <dir>/berthd.lock and writes this process's pid into it; the
// lock lasts as long as the returned fd. FailedPrecondition "another berthd (pid N) uses the
// <what> directory `dir`" when another process holds it.
absl::StatusOr<UniqueFd> LockDirectory(const std::string& dir, const std::string& what);

// FailedPrecondition if something accepts connections on the unix socket `address`; OK when
// nothing is there or it is a stale socket file (which the caller may then replace).
absl::Status CheckNoLiveSocket(const std::string& address);

// Whether two paths name the same existing directory (or file).
bool SameFile(const std::string& a, const std::string& b);

}  // namespace berth::server
