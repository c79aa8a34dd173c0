// Run: create + start + wait in one process, forwarding signals to the container.

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <cerrno>

#include "absl/cleanup/cleanup.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "runtime/oci/container.h"
#include "runtime/oci/container_internal.h"
#include "runtime/oci/linux/hooks.h"
#include "runtime/oci/sync.h"

namespace berth::oci {

namespace {

// Waits for `pid` while forwarding every other signal to it; reaps any other child too (the
// runtime is a subreaper while it waits).
int WaitForwarding(pid_t pid, const sigset_t& set) {
  while (true) {
    siginfo_t info;
    int sig = sigwaitinfo(&set, &info);
    if (sig < 0) {
      continue;
    }
    if (sig != SIGCHLD) {
      kill(pid, sig);
      continue;
    }
    int status = 0;
    pid_t reaped;
    while ((reaped = waitpid(-1, &status, WNOHANG)) > 0) {
      if (reaped == pid) {
        return ExitCodeFromWaitStatus(status);
      }
    }
  }
}

}  // namespace

int ExitCodeFromWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

absl::StatusOr<int> Runtime::Run(const std::string& id, const CreateOptions& options, bool detach,
                                 bool keep) {
  sigset_t all, old;
  sigfillset(&all);
  if (!detach) {
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    sigprocmask(SIG_BLOCK, &all, &old);
  }
  absl::Cleanup restore = [&] {
    if (!detach) sigprocmask(SIG_SETMASK, &old, nullptr);
  };
  Launch launch;
  ASSIGN_OR_RETURN(ContainerState state, CreateInternal(id, options, /*via_socket=*/false, &launch));
  absl::Status started = sync::Send(launch.sync_fd.get(), sync::kStart);
  if (started.ok()) {
    absl::StatusOr<sync::Message> reply = sync::Receive(launch.sync_fd.get());
    if (!reply.ok()) {
      started = reply.status();
    } else if (reply->type == sync::kError) {
      started = absl::FailedPreconditionError(reply->payload);
    }
  }
  if (!started.ok()) {
    kill(state.pid, SIGKILL);
    waitpid(state.pid, nullptr, 0);
    (void)Destroy(state);
    return started;
  }
  launch.sync_fd.Reset();
  state.status = ContainerStatus::kRunning;
  RETURN_IF_ERROR(store_.Save(state));
  if (absl::Status s = RunHooks(launch.spec.hooks.poststart, OciStateJson(state, false), "poststart");
      !s.ok()) {
    BERTH_LOG(WARN) << s.message();
  }
  if (detach) {
    return 0;
  }
  int code = WaitForwarding(state.pid, all);
  if (!keep) {
    state.status = ContainerStatus::kStopped;
    RETURN_IF_ERROR(Destroy(state));
  }
  return code;
}

}  // namespace berth::oci
