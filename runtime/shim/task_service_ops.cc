// TaskService: exec processes, signals, pause/resume, cgroup queries, stdio and shutdown.

#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "containerd/events/task.pb.h"
#include "containerd/runtime/runc/v1/options.pb.h"
#include "google/protobuf/empty.pb.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "runtime/shim/metrics.h"
#include "runtime/shim/task_service.h"

namespace berth::shim {
namespace {

// The oom_kill count of a cgroup v2 memory.events fd; -1 for anything else (a v1 eventfd
// cannot be pread).
int64_t OomKillCount(int fd) {
  char buf[512];
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  if (n < 0) return -1;
  buf[n] = '\0';
  const char* at = strstr(buf, "oom_kill ");
  return at == nullptr ? 0 : strtoll(at + 9, nullptr, 10);
}

}  // namespace

absl::StatusOr<ShimProcess*> TaskService::FindRunningInit(const std::string& id) {
  ASSIGN_OR_RETURN(ShimProcess * init, Find(id, ""));
  if (init->state == ShimProcess::State::kStopped) {
    return FailedPrecondition(absl::StrCat("task ", id, " is stopped"));
  }
  return init;
}

absl::Status TaskService::Exec(const shimapi::ExecProcessRequest& request) {
  ASSIGN_OR_RETURN(ShimProcess * init, FindRunningInit(request.id()));
  if (init->state != ShimProcess::State::kRunning) {
    return FailedPrecondition(absl::StrCat("cannot exec in a ",
                                           init->state == ShimProcess::State::kPaused ? "paused"
                                                                                      : "created",
                                           " task"));
  }
  if (request.exec_id().empty()) return InvalidArgument("exec id must not be empty");
  if (execs_.count(request.exec_id()) != 0) {
    return AlreadyExists(absl::StrCat("exec process ", request.exec_id()));
  }
  if (request.spec().value().empty()) return InvalidArgument("exec process spec is empty");
  auto exec = std::make_unique<ShimProcess>();
  exec->exec_id = request.exec_id();
  exec->stdio = {request.stdin(), request.stdout(), request.stderr(), request.terminal()};
  exec->process_json = request.spec().value();
  execs_[request.exec_id()] = std::move(exec);
  containerd::events::TaskExecAdded event;
  event.set_container_id(flags_.id);
  event.set_exec_id(request.exec_id());
  publisher_->Publish("/tasks/exec-added", event);
  return absl::OkStatus();
}

absl::Status TaskService::StartExec(ShimProcess& exec) {
  if (init_->state != ShimProcess::State::kRunning) {
    return FailedPrecondition(absl::StrCat("cannot start exec ", exec.exec_id, ": task ",
                                           flags_.id, " is not running"));
  }
  ASSIGN_OR_RETURN(exec.io, ProcessIo::Open(exec.stdio));
  ASSIGN_OR_RETURN(Launched launched,
                   backend_->Exec(flags_.id, exec.exec_id, exec.process_json,
                                  exec.io->ForProcess()));
  exec.pid = launched.pid;
  exec.state = ShimProcess::State::kRunning;
  exec.io->Started(loop_, std::move(launched.console));
  containerd::events::TaskExecStarted event;
  event.set_container_id(flags_.id);
  event.set_exec_id(exec.exec_id);
  event.set_pid(static_cast<uint32_t>(exec.pid));
  publisher_->Publish("/tasks/exec-started", event);
  return absl::OkStatus();
}

absl::Status TaskService::Kill(const shimapi::KillRequest& request) {
  ASSIGN_OR_RETURN(ShimProcess * process, Find(request.id(), request.exec_id()));
  if (process->state == ShimProcess::State::kStopped) {
    return NotFound(absl::StrCat("process ", process->pid, ": process already finished"));
  }
  int signal = static_cast<int>(request.signal());
  if (!request.exec_id().empty()) {
    if (process->state == ShimProcess::State::kCreated) {
      return FailedPrecondition(absl::StrCat("exec ", request.exec_id(), " was not started"));
    }
    if (::kill(process->pid, signal) != 0) return ErrnoError(errno, "kill", request.exec_id());
    return absl::OkStatus();
  }
  absl::Status status = backend_->Kill(flags_.id, signal, request.all());
  if (absl::IsFailedPrecondition(status)) {
    return NotFound(absl::StrCat("process ", process->pid, ": process already finished"));
  }
  return status;
}

absl::Status TaskService::Pause(const shimapi::PauseRequest& request) {
  ASSIGN_OR_RETURN(ShimProcess * init, FindRunningInit(request.id()));
  if (init->state != ShimProcess::State::kRunning) {
    return FailedPrecondition(absl::StrCat("task ", request.id(), " is not running"));
  }
  RETURN_IF_ERROR(backend_->Pause(flags_.id));
  init->state = ShimProcess::State::kPaused;
  containerd::events::TaskPaused event;
  event.set_container_id(flags_.id);
  publisher_->Publish("/tasks/paused", event);
  return absl::OkStatus();
}

absl::Status TaskService::Resume(const shimapi::ResumeRequest& request) {
  ASSIGN_OR_RETURN(ShimProcess * init, FindRunningInit(request.id()));
  if (init->state != ShimProcess::State::kPaused) {
    return FailedPrecondition(absl::StrCat("task ", request.id(), " is not paused"));
  }
  RETURN_IF_ERROR(backend_->Resume(flags_.id));
  init->state = ShimProcess::State::kRunning;
  containerd::events::TaskResumed event;
  event.set_container_id(flags_.id);
  publisher_->Publish("/tasks/resumed", event);
  return absl::OkStatus();
}

absl::StatusOr<shimapi::PidsResponse> TaskService::Pids(const shimapi::PidsRequest& request) {
  RETURN_IF_ERROR(FindRunningInit(request.id()).status());
  ASSIGN_OR_RETURN(std::unique_ptr<oci::CgroupManager> cgroup, backend_->Cgroup(flags_.id));
  ASSIGN_OR_RETURN(std::vector<pid_t> pids, cgroup->Pids());
  shimapi::PidsResponse response;
  for (pid_t pid : pids) {
    auto* info = response.add_processes();
    info->set_pid(static_cast<uint32_t>(pid));
    for (const auto& [exec_id, exec] : execs_) {
      if (exec->pid != pid) continue;
      containerd::runc::v1::ProcessDetails details;
      details.set_exec_id(exec_id);
      info->mutable_info()->set_type_url(details.GetTypeName());
      info->mutable_info()->set_value(details.SerializeAsString());
    }
  }
  return response;
}

absl::StatusOr<shimapi::StatsResponse> TaskService::Stats(const shimapi::StatsRequest& request) {
  RETURN_IF_ERROR(FindRunningInit(request.id()).status());
  ASSIGN_OR_RETURN(std::unique_ptr<oci::CgroupManager> cgroup, backend_->Cgroup(flags_.id));
  ASSIGN_OR_RETURN(oci::CgroupStats stats, cgroup->Stats());
  shimapi::StatsResponse response;
  *response.mutable_stats() = MetricsV1Any(stats);
  return response;
}

absl::Status TaskService::Update(const shimapi::UpdateTaskRequest& request) {
  RETURN_IF_ERROR(FindRunningInit(request.id()).status());
  // containerd sends specs.LinuxResources through typeurl: the value is JSON.
  return backend_->Update(flags_.id, request.resources().value());
}

absl::Status TaskService::ResizePty(const shimapi::ResizePtyRequest& request) {
  ASSIGN_OR_RETURN(ShimProcess * process, Find(request.id(), request.exec_id()));
  if (process->io == nullptr || process->io->console() < 0) {
    return FailedPrecondition(absl::StrCat("process ", process->pid, " has no terminal"));
  }
  winsize size{};
  size.ws_col = static_cast<unsigned short>(request.width());
  size.ws_row = static_cast<unsigned short>(request.height());
  if (ioctl(process->io->console(), TIOCSWINSZ, &size) != 0) {
    return ErrnoError(errno, "resize pty");
  }
  return absl::OkStatus();
}

absl::Status TaskService::CloseIO(const shimapi::CloseIORequest& request) {
  ASSIGN_OR_RETURN(ShimProcess * process, Find(request.id(), request.exec_id()));
  if (request.stdin() && process->io != nullptr) process->io->CloseStdin();
  return absl::OkStatus();
}

void TaskService::Wait(ttrpc::ServerCall call) {
  trimmer_.Touch();
  shimapi::WaitRequest request;
  if (absl::Status status = call.ParseRequest(&request); !status.ok()) {
    call.Fail(status);
    return;
  }
  absl::StatusOr<ShimProcess*> process = Find(request.id(), request.exec_id());
  if (!process.ok()) {
    call.Fail(process.status());
    return;
  }
  if ((*process)->state == ShimProcess::State::kStopped) {
    shimapi::WaitResponse response;
    response.set_exit_status((*process)->exit_status);
    *response.mutable_exited_at() = (*process)->exited_at;
    call.Reply(response);
    return;
  }
  uint64_t id = next_waiter_++;
  std::string exec_id = request.exec_id();
  call.OnCancel([this, id, exec_id] {
    absl::StatusOr<ShimProcess*> p = Find(flags_.id, exec_id);
    if (p.ok()) (*p)->waiters.erase(id);
  });
  (*process)->waiters.emplace(id, std::move(call));
}

void TaskService::Shutdown(ttrpc::ServerCall call) {
  call.Reply(google::protobuf::Empty());
  if (init_ != nullptr) return;  // A container is still here: keep serving.
  publisher_->Flush([this] { on_shutdown_(); });
}

void TaskService::WatchOom() {
  absl::StatusOr<std::unique_ptr<oci::CgroupManager>> cgroup = backend_->Cgroup(flags_.id);
  absl::StatusOr<int> fd = cgroup.ok() ? (*cgroup)->OomEventFd() : cgroup.status();
  if (!fd.ok()) {
    BERTH_LOG(WARN) << "no OOM events for " << flags_.id << ": " << fd.status();
    return;
  }
  oom_fd_ = *fd;
  oom_kills_ = OomKillCount(oom_fd_);
  absl::Status added = loop_->Add(oom_fd_, EPOLLIN | EPOLLPRI, [this](uint32_t) {
    // v1: an eventfd counting OOM notifications. v2: memory.events, which changes (POLLPRI) for
    // every memory event: only a higher oom_kill count is an OOM.
    uint64_t count = 0;
    if (int64_t kills = OomKillCount(oom_fd_); kills >= 0) {
      if (kills <= oom_kills_) return;
      oom_kills_ = kills;
    } else if (read(oom_fd_, &count, sizeof(count)) != sizeof(count)) {
      return;
    }
    if (init_ == nullptr) return;
    containerd::events::TaskOOM event;
    event.set_container_id(flags_.id);
    publisher_->Publish("/tasks/oom", event);
  });
  if (!added.ok()) UnwatchOom();
}

void TaskService::UnwatchOom() {
  if (oom_fd_ < 0) return;
  loop_->Remove(oom_fd_);
  close(oom_fd_);
  oom_fd_ = -1;
}

}  // namespace berth::shim
