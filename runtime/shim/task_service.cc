// TaskService: registration, Create/Start/Delete/State and the exit path.

#include "runtime/shim/task_service.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "containerd/events/task.pb.h"
#include "google/protobuf/empty.pb.h"
#include "plugins/base/file_util.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "runtime/oci/container.h"
#include "runtime/shim/rootfs.h"

namespace berth::shim {
namespace {

constexpr char kService[] = "containerd.task.v2.Task";

google::protobuf::Timestamp Now() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  google::protobuf::Timestamp out;
  out.set_seconds(ts.tv_sec);
  out.set_nanos(static_cast<int32_t>(ts.tv_nsec));
  return out;
}

containerd::v1::types::Status ApiStatus(ShimProcess::State state) {
  switch (state) {
    case ShimProcess::State::kCreated: return containerd::v1::types::CREATED;
    case ShimProcess::State::kRunning: return containerd::v1::types::RUNNING;
    case ShimProcess::State::kPaused: return containerd::v1::types::PAUSED;
    case ShimProcess::State::kStopped: return containerd::v1::types::STOPPED;
  }
  return containerd::v1::types::UNKNOWN;
}

// The runc options from the request, else from `start`'s stdin. Any other type: defaults.
containerd::runc::v1::Options ParseOptions(const google::protobuf::Any& from_request,
                                           const std::string& from_stdin) {
  containerd::runc::v1::Options options;
  google::protobuf::Any any = from_request;
  if (any.type_url().empty() && !from_stdin.empty()) (void)any.ParseFromString(from_stdin);
  if (absl::EndsWith(any.type_url(), "containerd.runc.v1.Options")) {
    (void)options.ParseFromString(any.value());
  }
  return options;
}

}  // namespace

TaskService::TaskService(ttrpc::EventLoop* loop, const Flags& flags, std::string stdin_options,
                         Publisher* publisher, std::function<void()> on_shutdown)
    : loop_(loop), flags_(flags), stdin_options_(std::move(stdin_options)),
      publisher_(publisher), on_shutdown_(std::move(on_shutdown)), spare_namespace_(flags.ns),
      trimmer_(loop) {
  trimmer_.Touch();
}

TaskService::~TaskService() { UnwatchOom(); }

std::string TaskService::RootfsPath() const { return JoinPath(flags_.bundle, "rootfs"); }

#define BERTH_SHIM_SYNC(Req, Resp, Method)                                                   \
  server->RegisterSync<shimapi::Req, shimapi::Resp>(                                          \
      kService, #Method, [this](const ttrpc::ServerCall&, const shimapi::Req& request) {      \
        trimmer_.Touch();                                                                     \
        return Method(request);                                                               \
      })
#define BERTH_SHIM_EMPTY(Req, Method)                                                        \
  server->RegisterSync<shimapi::Req, google::protobuf::Empty>(                               \
      kService, #Method,                                                                      \
      [this](const ttrpc::ServerCall&,                                                        \
             const shimapi::Req& request) -> absl::StatusOr<google::protobuf::Empty> {        \
        trimmer_.Touch();                                                                     \
        RETURN_IF_ERROR(Method(request));                                                     \
        return google::protobuf::Empty();                                                     \
      })

void TaskService::Register(ttrpc::Server* server) {
  BERTH_SHIM_SYNC(CreateTaskRequest, CreateTaskResponse, Create);
  BERTH_SHIM_SYNC(StartRequest, StartResponse, Start);
  BERTH_SHIM_SYNC(DeleteRequest, DeleteResponse, Delete);
  BERTH_SHIM_SYNC(StateRequest, StateResponse, State);
  BERTH_SHIM_SYNC(PidsRequest, PidsResponse, Pids);
  BERTH_SHIM_SYNC(StatsRequest, StatsResponse, Stats);
  BERTH_SHIM_EMPTY(ExecProcessRequest, Exec);
  BERTH_SHIM_EMPTY(KillRequest, Kill);
  BERTH_SHIM_EMPTY(PauseRequest, Pause);
  BERTH_SHIM_EMPTY(ResumeRequest, Resume);
  BERTH_SHIM_EMPTY(UpdateTaskRequest, Update);
  BERTH_SHIM_EMPTY(ResizePtyRequest, ResizePty);
  BERTH_SHIM_EMPTY(CloseIORequest, CloseIO);
  server->RegisterSync<shimapi::CheckpointTaskRequest, google::protobuf::Empty>(
      kService, "Checkpoint",
      [](const ttrpc::ServerCall&, const shimapi::CheckpointTaskRequest&)
          -> absl::StatusOr<google::protobuf::Empty> {
        return absl::UnimplementedError("berth-shim does not support checkpoint");
      });
  server->RegisterSync<shimapi::ConnectRequest, shimapi::ConnectResponse>(
      kService, "Connect", [this](const ttrpc::ServerCall&, const shimapi::ConnectRequest&) {
        shimapi::ConnectResponse response;
        response.set_shim_pid(static_cast<uint32_t>(getpid()));
        if (init_ != nullptr) response.set_task_pid(static_cast<uint32_t>(init_->pid));
        response.set_version("berth-shim");
        return absl::StatusOr<shimapi::ConnectResponse>(response);
      });
  server->Register(kService, "Wait", [this](ttrpc::ServerCall call) { Wait(std::move(call)); });
  server->Register(kService, "Shutdown",
                   [this](ttrpc::ServerCall call) { Shutdown(std::move(call)); });
  RegisterSpare(server);
}

absl::StatusOr<shimapi::CreateTaskResponse> TaskService::Create(
    const shimapi::CreateTaskRequest& request) {
  if (request.id() != flags_.id) {
    return InvalidArgument(absl::StrCat("this shim serves task ", flags_.id, ", not ", request.id()));
  }
  if (init_ != nullptr) return AlreadyExists(absl::StrCat("task ", request.id()));
  if (!request.checkpoint().empty()) return Unimplemented("berth-shim cannot restore checkpoints");
  containerd::runc::v1::Options options = ParseOptions(request.options(), stdin_options_);
  // `delete` (after a shim crash) needs the options to find the runtime and its root.
  RETURN_IF_ERROR(WriteFileReplace(JoinPath(flags_.bundle, "options.pb"),
                                  options.SerializeAsString(), 0600));
  backend_ = NewBackend(options, flags_.ns, flags_.bundle);

  auto init = std::make_unique<ShimProcess>();
  init->stdio = {request.stdin(), request.stdout(), request.stderr(), request.terminal()};
  if (!request.rootfs().empty()) {
    RETURN_IF_ERROR(MkdirAll(RootfsPath(), 0711));
    RETURN_IF_ERROR(MountRootfs(request.rootfs(), RootfsPath()));
    rootfs_mounted_ = true;
  }
  absl::StatusOr<Launched> launched = [&]() -> absl::StatusOr<Launched> {
    ASSIGN_OR_RETURN(init->io, ProcessIo::Open(init->stdio));
    return backend_->Create(flags_.id, flags_.bundle, init->io->ForProcess(), ready_netns_.get());
  }();
  ready_netns_.Reset();  // the container's now, or left unused: a spare makes a new one
  if (!launched.ok()) {
    if (rootfs_mounted_) (void)UnmountAll(RootfsPath());
    rootfs_mounted_ = false;
    (void)backend_->Delete(flags_.id);
    return launched.status();
  }
  init->pid = launched->pid;
  init->io->Started(loop_, std::move(launched->console));
  init_ = std::move(init);
  WatchOom();

  containerd::events::TaskCreate event;
  event.set_container_id(flags_.id);
  event.set_bundle(flags_.bundle);
  *event.mutable_rootfs() = request.rootfs();
  event.mutable_io()->set_stdin(request.stdin());
  event.mutable_io()->set_stdout(request.stdout());
  event.mutable_io()->set_stderr(request.stderr());
  event.mutable_io()->set_terminal(request.terminal());
  event.set_pid(static_cast<uint32_t>(init_->pid));
  publisher_->Publish("/tasks/create", event);
  shimapi::CreateTaskResponse response;
  response.set_pid(static_cast<uint32_t>(init_->pid));
  return response;
}

absl::StatusOr<shimapi::StartResponse> TaskService::Start(const shimapi::StartRequest& request) {
  ASSIGN_OR_RETURN(ShimProcess * process, Find(request.id(), request.exec_id()));
  if (process->state != ShimProcess::State::kCreated) {
    return FailedPrecondition(absl::StrCat("process ", request.exec_id().empty() ? request.id()
                                                                                 : request.exec_id(),
                                           " was already started"));
  }
  shimapi::StartResponse response;
  if (!request.exec_id().empty()) {
    RETURN_IF_ERROR(StartExec(*process));
    response.set_pid(static_cast<uint32_t>(process->pid));
    return response;
  }
  RETURN_IF_ERROR(backend_->Start(flags_.id));
  process->state = ShimProcess::State::kRunning;
  containerd::events::TaskStart event;
  event.set_container_id(flags_.id);
  event.set_pid(static_cast<uint32_t>(process->pid));
  publisher_->Publish("/tasks/start", event);
  response.set_pid(static_cast<uint32_t>(process->pid));
  return response;
}

absl::StatusOr<shimapi::DeleteResponse> TaskService::Delete(const shimapi::DeleteRequest& request) {
  ASSIGN_OR_RETURN(ShimProcess * process, Find(request.id(), request.exec_id()));
  if (process->state == ShimProcess::State::kRunning ||
      process->state == ShimProcess::State::kPaused) {
    return FailedPrecondition(absl::StrCat("cannot delete running process ",
                                           request.exec_id().empty() ? request.id()
                                                                     : request.exec_id()));
  }
  shimapi::DeleteResponse response;
  response.set_pid(static_cast<uint32_t>(process->pid));
  if (process->state == ShimProcess::State::kCreated) {
    response.set_exit_status(128 + SIGKILL);
    *response.mutable_exited_at() = Now();
  } else {
    response.set_exit_status(process->exit_status);
    *response.mutable_exited_at() = process->exited_at;
  }
  if (!request.exec_id().empty()) {
    execs_.erase(request.exec_id());
    return response;
  }
  if (!execs_.empty()) {
    for (auto& [exec_id, exec] : execs_) {
      if (exec->state == ShimProcess::State::kRunning) kill(exec->pid, SIGKILL);
    }
  }
  RETURN_IF_ERROR(backend_->Delete(flags_.id));
  if (rootfs_mounted_) {
    ASSIGN_OR_RETURN(std::vector<UniqueFd> detached, DetachRootfs(RootfsPath()));
    for (UniqueFd& fd : detached) detached_rootfs_.push_back(std::move(fd));
  }
  rootfs_mounted_ = false;
  UnwatchOom();
  containerd::events::TaskDelete event;
  event.set_container_id(flags_.id);
  event.set_pid(response.pid());
  event.set_exit_status(response.exit_status());
  *event.mutable_exited_at() = response.exited_at();
  event.set_id(flags_.id);
  publisher_->Publish("/tasks/delete", event);
  init_.reset();
  execs_.clear();
  return response;
}

absl::StatusOr<shimapi::StateResponse> TaskService::State(const shimapi::StateRequest& request) {
  ASSIGN_OR_RETURN(ShimProcess * process, Find(request.id(), request.exec_id()));
  shimapi::StateResponse response;
  response.set_id(flags_.id);
  response.set_exec_id(request.exec_id());
  response.set_bundle(flags_.bundle);
  response.set_pid(static_cast<uint32_t>(process->pid));
  response.set_status(ApiStatus(process->state));
  response.set_stdin(process->stdio.in);
  response.set_stdout(process->stdio.out);
  response.set_stderr(process->stdio.err);
  response.set_terminal(process->stdio.terminal);
  if (process->state == ShimProcess::State::kStopped) {
    response.set_exit_status(process->exit_status);
    *response.mutable_exited_at() = process->exited_at;
  }
  return response;
}

absl::StatusOr<ShimProcess*> TaskService::Find(const std::string& id, const std::string& exec_id) {
  if (id != flags_.id || init_ == nullptr) return NotFound(absl::StrCat("task ", id));
  if (exec_id.empty()) return init_.get();
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return NotFound(absl::StrCat("process ", exec_id, " does not exist"));
  return it->second.get();
}

void TaskService::Reap() {
  trimmer_.Touch();
  int status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    if (publisher_->IsHelper(pid)) {
      publisher_->HelperExited(pid);
      continue;
    }
    if (init_ != nullptr && init_->pid == pid && init_->state != ShimProcess::State::kStopped) {
      OnExit(*init_, status);
      continue;
    }
    for (auto& [exec_id, exec] : execs_) {
      if (exec->pid == pid && exec->state == ShimProcess::State::kRunning) {
        OnExit(*exec, status);
        break;
      }
    }
  }
}

void TaskService::OnExit(ShimProcess& process, int wait_status) {
  process.state = ShimProcess::State::kStopped;
  process.exit_status = static_cast<uint32_t>(oci::ExitCodeFromWaitStatus(wait_status));
  process.exited_at = Now();
  if (process.io != nullptr) process.io->Exited();
  containerd::events::TaskExit event;
  event.set_container_id(flags_.id);
  event.set_id(process.exec_id.empty() ? flags_.id : process.exec_id);
  event.set_pid(static_cast<uint32_t>(process.pid));
  event.set_exit_status(process.exit_status);
  *event.mutable_exited_at() = process.exited_at;
  publisher_->Publish("/tasks/exit", event);
  shimapi::WaitResponse response;
  response.set_exit_status(process.exit_status);
  *response.mutable_exited_at() = process.exited_at;
  std::map<uint64_t, ttrpc::ServerCall> waiters;
  waiters.swap(process.waiters);
  for (auto& [id, call] : waiters) call.Reply(response);
}

}  // namespace berth::shim
