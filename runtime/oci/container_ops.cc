// The verbs on an existing container: state, kill, delete, pause/resume, update, stats, ps.

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"
#include "runtime/oci/container.h"
#include "runtime/oci/linux/hooks.h"
#include "runtime/oci/spec_internal.h"

namespace berth::oci {
namespace {

// A pidfd for the recorded init, or kFailedPrecondition if it is gone (or the pid reused).
absl::StatusOr<UniqueFd> OpenInit(const ContainerState& state) {
  UniqueFd fd(static_cast<int>(syscall(SYS_pidfd_open, state.pid, 0)));
  if (!fd.valid() || !ProcessAlive(state.pid, state.pid_start_time)) {
    return absl::FailedPreconditionError(absl::StrCat("container `", state.id, "` is not running"));
  }
  return fd;
}

absl::Status SignalPidfd(int pidfd, int signal) {
  if (syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0) != 0 && errno != ESRCH) {
    return ErrnoError(errno, absl::StrCat("send signal ", signal));
  }
  return absl::OkStatus();
}

// Waits up to `ms` for the process behind `pidfd` to exit.
bool WaitExit(int pidfd, int ms) {
  pollfd p{pidfd, POLLIN, 0};
  return poll(&p, 1, ms) > 0;
}

void KillAll(CgroupManager& cgroups) {
  absl::StatusOr<std::vector<pid_t>> pids = cgroups.Pids();
  if (!pids.ok()) return;
  for (pid_t pid : *pids) kill(pid, SIGKILL);
  (void)cgroups.Thaw();
}

}  // namespace

absl::StatusOr<ContainerState> Runtime::State(const std::string& id) {
  ASSIGN_OR_RETURN(ContainerState state, store_.Load(id));
  if (state.status == ContainerStatus::kRunning) {
    absl::StatusOr<bool> frozen = LoadCgroupManager(state.cgroup_paths)->IsFrozen();
    if (frozen.ok() && *frozen) state.status = ContainerStatus::kPaused;
  }
  return state;
}

absl::Status Runtime::Kill(const std::string& id, int signal, bool all) {
  ASSIGN_OR_RETURN(ContainerState state, State(id));
  if (state.status == ContainerStatus::kStopped) {
    return absl::FailedPreconditionError("container not running");
  }
  if (all) {
    std::unique_ptr<CgroupManager> cgroups = LoadCgroupManager(state.cgroup_paths);
    ASSIGN_OR_RETURN(std::vector<pid_t> pids, cgroups->Pids());
    for (pid_t pid : pids) {
      kill(pid, signal);
    }
    if (signal == SIGKILL && state.status == ContainerStatus::kPaused) (void)cgroups->Thaw();
    if (!pids.empty()) return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(UniqueFd pidfd, OpenInit(state));
  return SignalPidfd(pidfd.get(), signal);
}

absl::Status Runtime::Destroy(const ContainerState& state) {
  std::unique_ptr<CgroupManager> cgroups = LoadCgroupManager(state.cgroup_paths);
  if ((state.namespaces & CLONE_NEWPID) == 0) {
    KillAll(*cgroups);  // Without a pid namespace the init's death does not end the others.
  }
  absl::Status removed = cgroups->Destroy();
  if (!removed.ok()) {
    KillAll(*cgroups);
    removed = cgroups->Destroy();
  }
  RETURN_IF_ERROR(removed);
  if (!MayHaveHook(state.config_json, "poststop")) return store_.Remove(state.id);
  if (absl::StatusOr<Spec> spec = ParseSpec(state.config_json);
      spec.ok() && !spec->hooks.poststop.empty()) {
    ContainerState stopped = state;
    stopped.status = ContainerStatus::kStopped;
    if (absl::Status s = RunHooks(spec->hooks.poststop, OciStateJson(stopped, false), "poststop");
        !s.ok()) {
      BERTH_LOG(WARN) << s.message();
    }
  }
  return store_.Remove(state.id);
}

absl::Status Runtime::Delete(const std::string& id, bool force) {
  ASSIGN_OR_RETURN(ContainerState state, State(id));
  bool live = state.status == ContainerStatus::kRunning || state.status == ContainerStatus::kPaused;
  if (live && !force) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot delete container ", id, " that is not stopped: ", StatusName(state.status)));
  }
  if (state.status != ContainerStatus::kStopped) {
    absl::StatusOr<UniqueFd> pidfd = OpenInit(state);
    if (pidfd.ok()) {
      RETURN_IF_ERROR(SignalPidfd(pidfd->get(), SIGKILL));
      if (state.status == ContainerStatus::kPaused) {
        (void)LoadCgroupManager(state.cgroup_paths)->Thaw();
      }
      if (!WaitExit(pidfd->get(), 10000)) {
        return absl::DeadlineExceededError(absl::StrCat("delete `", id, "`: init did not exit"));
      }
    }
  }
  return Destroy(state);
}

absl::Status Runtime::Pause(const std::string& id) {
  ASSIGN_OR_RETURN(ContainerState state, State(id));
  if (state.status != ContainerStatus::kRunning && state.status != ContainerStatus::kCreated) {
    return absl::FailedPreconditionError(
        absl::StrCat("container `", id, "` is not running: ", StatusName(state.status)));
  }
  return LoadCgroupManager(state.cgroup_paths)->Freeze();
}

absl::Status Runtime::Resume(const std::string& id) {
  ASSIGN_OR_RETURN(ContainerState state, State(id));
  if (state.status != ContainerStatus::kPaused) {
    return absl::FailedPreconditionError(absl::StrCat("container `", id, "` is not paused"));
  }
  return LoadCgroupManager(state.cgroup_paths)->Thaw();
}

absl::Status Runtime::Update(const std::string& id, const Resources& resources) {
  ASSIGN_OR_RETURN(ContainerState state, State(id));
  if (state.status == ContainerStatus::kStopped) {
    return absl::FailedPreconditionError(absl::StrCat("container `", id, "` is stopped"));
  }
  return LoadCgroupManager(state.cgroup_paths)->Update(resources);
}

absl::StatusOr<CgroupStats> Runtime::Stats(const std::string& id) {
  ASSIGN_OR_RETURN(ContainerState state, State(id));
  return LoadCgroupManager(state.cgroup_paths)->Stats();
}

absl::StatusOr<std::vector<pid_t>> Runtime::Pids(const std::string& id) {
  ASSIGN_OR_RETURN(ContainerState state, State(id));
  return LoadCgroupManager(state.cgroup_paths)->Pids();
}

absl::StatusOr<int> Runtime::OomEventFd(const std::string& id) {
  ASSIGN_OR_RETURN(ContainerState state, State(id));
  return LoadCgroupManager(state.cgroup_paths)->OomEventFd();
}

absl::StatusOr<Resources> ParseResourcesJson(absl::string_view json_text) {
  json::Json doc;
  RETURN_IF_ERROR(json::ParseObject(json_text, "resources", &doc));
  Resources resources;
  RETURN_IF_ERROR(internal::ParseResources(doc, "resources", &resources));
  return resources;
}

}  // namespace berth::oci
