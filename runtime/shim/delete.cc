// `berth-shim delete`: cleanup after a dead shim (containerd's shim Cleanup): force-delete the
// container, unmount the rootfs, remove the socket, print a DeleteResponse.

#include <stdio.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "containerd/runtime/runc/v1/options.pb.h"
#include "containerd/runtime/task/v2/shim.pb.h"
#include "plugins/base/file_util.h"
#include "runtime/shim/backend.h"
#include "runtime/shim/rootfs.h"
#include "runtime/shim/shim_main.h"
#include "runtime/ttrpc/socket.h"

namespace berth::shim {

int RunDelete(const Flags& flags) {
  containerd::runc::v1::Options options;
  if (absl::StatusOr<std::string> saved = ReadFile(JoinPath(flags.bundle, "options.pb"));
      saved.ok()) {
    (void)options.ParseFromString(*saved);
  }
  std::unique_ptr<Backend> backend = NewBackend(options, flags.ns, flags.bundle);
  if (absl::Status status = backend->Delete(flags.id); !status.ok()) {
    fprintf(stderr, "berth-shim delete: %s\n", status.ToString().c_str());
  }
  if (absl::Status status = UnmountAll(JoinPath(flags.bundle, "rootfs")); !status.ok()) {
    fprintf(stderr, "berth-shim delete: %s\n", status.ToString().c_str());
  }
  if (absl::StatusOr<std::string> address = ReadFile(JoinPath(flags.bundle, "address"));
      address.ok()) {
    absl::StatusOr<std::string> path = ttrpc::SocketPath(*address);
    if (path.ok() && !ttrpc::ConnectUnix(*address).ok()) unlink(path->c_str());
  }
  containerd::task::v2::DeleteResponse response;
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  response.mutable_exited_at()->set_seconds(now.tv_sec);
  response.mutable_exited_at()->set_nanos(static_cast<int32_t>(now.tv_nsec));
  response.set_exit_status(128 + SIGKILL);
  std::string out = response.SerializeAsString();
  fwrite(out.data(), 1, out.size(), stdout);
  fflush(stdout);
  return 0;
}

}  // namespace berth::shim
