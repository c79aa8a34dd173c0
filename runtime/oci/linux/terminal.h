#pragma once

// The container's terminal: a pty allocated inside the container's devpts, its master sent
// over a unix socket with SCM_RIGHTS (runc's --console-socket protocol: one message whose data
// is the pty name and whose control message carries the fd).

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "plugins/base/unique_fd.h"
#include "runtime/oci/spec.h"

namespace berth::oci {

// Connects to the console socket at `path` (in the runtime's mount namespace).
absl::StatusOr<UniqueFd> ConnectConsoleSocket(const std::string& path);

// Sends `fd` over the unix socket `sock` with `name` as data.
absl::Status SendFd(int sock, int fd, const std::string& name);
// Receives one fd sent by SendFd.
absl::StatusOr<UniqueFd> RecvFd(int sock);

// In the container, after pivot_root: opens /dev/ptmx, sizes the pty, bind-mounts the slave on
// /dev/console when `mount_console`, sends the master to `socket_fd`, and makes the slave the
// controlling terminal and stdio of the calling process.
absl::Status SetupTerminal(int socket_fd, const std::optional<ConsoleSize>& size,
                           bool mount_console);

}  // namespace berth::oci
