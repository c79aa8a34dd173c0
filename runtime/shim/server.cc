// The shim server: one epoll loop for ttrpc, SIGCHLD (signalfd), OOM fds and pty copying.

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "plugins/base/file_util.h"
#include "plugins/base/log.h"
#include "runtime/shim/publisher.h"
#include "runtime/shim/shim_main.h"
#include "runtime/shim/task_service.h"
#include "runtime/ttrpc/server.h"
#include "runtime/ttrpc/socket.h"

namespace berth::shim {

int RunServer(const Flags& flags, UniqueFd listener, std::string stdin_options) {
  log::SetProgramName("berth-shim");
  if (flags.debug) log::SetLevel(log::Level::kDebug);
  // Orphaned container processes (runc's, exec'd ones) are re-parented to us and reaped.
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  UniqueFd sigfd(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  absl::StatusOr<std::unique_ptr<ttrpc::EventLoop>> loop = ttrpc::EventLoop::Create();
  if (!sigfd.valid() || !loop.ok()) {
    BERTH_LOG(ERROR) << "cannot set up the event loop";
    return 1;
  }
  ttrpc::Server server(loop->get());
  Publisher publisher(loop->get(), flags.ns, flags.ttrpc_address, flags.address,
                      flags.publish_binary);
  TaskService service(loop->get(), flags, std::move(stdin_options), &publisher,
                      [&] { (*loop)->Stop(); });
  service.Register(&server);
  absl::Status status = (*loop)->Add(sigfd.get(), EPOLLIN, [&](uint32_t) {
    signalfd_siginfo info;
    while (read(sigfd.get(), &info, sizeof(info)) == sizeof(info)) {
    }
    service.Reap();
  });
  if (status.ok()) status = server.Serve(std::move(listener));
  if (status.ok() && flags.spare) publisher.Prepare();
  if (!status.ok()) {
    BERTH_LOG(ERROR) << status;
    return 1;
  }
  BERTH_LOG(DEBUG) << "serving task " << flags.ns << "/" << flags.id;
  status = (*loop)->Run();
  server.Shutdown();
  absl::StatusOr<std::string> address = ReadFile(JoinPath(service.bundle(), "address"));
  if (address.ok()) {
    if (absl::StatusOr<std::string> path = ttrpc::SocketPath(*address); path.ok()) {
      unlink(path->c_str());
    }
  }
  return status.ok() ? 0 : 1;
}

}  // namespace berth::shim
