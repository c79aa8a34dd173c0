#include "ctl/commands/task_runner.h"

#include <signal.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "containerd/services/snapshots/v1/snapshots.pb.h"
#include "ctl/methods.h"
#include "ctl/rpc/call.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"

namespace berth::ctl {
namespace {

namespace snapshots_api = containerd::services::snapshots::v1;

// Tasks.Wait, sent before the task starts (so no exit can come first) and received when the
// session ends; no thread of its own. Dropped unreceived (a failed Start), the call is
// cancelled.
class Waiter {
 public:
  Waiter(Client& client, const std::string& id, const std::string& exec_id)
      : client_(client), call_(client.Stream(methods::kTasksWait, client.LongOptions())) {
    tasks_api::WaitRequest request;
    request.set_container_id(id);
    request.set_exec_id(exec_id);
    (void)call_->Write(request, /*last=*/true);  // a failure shows in Get
  }
  absl::StatusOr<uint32_t> Get() {
    tasks_api::WaitResponse response;
    RETURN_IF_ERROR(client_.Explain(call_->Receive(&response)));
    return response.exit_status();
  }

 private:
  Client& client_;
  std::unique_ptr<rpc::Call> call_;  // Tasks.Wait
};

void Resize(Client& client, const Session& session) {
  tasks_api::ResizePtyRequest request;
  request.set_container_id(session.id);
  request.set_exec_id(session.exec_id);
  uint32_t width = 0, height = 0;
  if (!TerminalSize(&width, &height)) return;
  request.set_width(width);
  request.set_height(height);
  google::protobuf::Empty empty;
  (void)client.Call(methods::kTasksResizePty, request, &empty);  // best effort, as ctr
}

void CloseStdin(Client& client, const Session& session) {
  tasks_api::CloseIORequest request;
  request.set_container_id(session.id);
  request.set_exec_id(session.exec_id);
  request.set_stdin(true);
  google::protobuf::Empty empty;
  (void)client.Call(methods::kTasksCloseIO, request, &empty);
}

}  // namespace

absl::StatusOr<uint32_t> CreateTask(Client& client, const Container& container,
                                    const Mounts* rootfs, TaskIO* io, bool terminal) {
  tasks_api::CreateTaskRequest request;
  request.set_container_id(container.id());
  if (rootfs != nullptr) {
    *request.mutable_rootfs() = *rootfs;
  } else {
    snapshots_api::MountsRequest mounts_request;
    mounts_request.set_snapshotter(container.snapshotter());
    mounts_request.set_key(container.snapshot_key());
    snapshots_api::MountsResponse mounts;
    RETURN_IF_ERROR(client.Call(methods::kSnapshotsMounts, mounts_request, &mounts));
    *request.mutable_rootfs() = std::move(*mounts.mutable_mounts());
  }
  if (io != nullptr) {
    request.set_stdin(io->stdin_path());
    request.set_stdout(io->stdout_path());
    request.set_stderr(io->stderr_path());
  }
  request.set_terminal(terminal);
  tasks_api::CreateTaskResponse response;
  RETURN_IF_ERROR(client.Call(methods::kTasksCreate, request, &response, client.LongOptions()));
  return response.pid();
}

absl::StatusOr<uint32_t> RunSession(Client& client, TaskIO& io, const Session& session) {
  Waiter waiter(client, session.id, session.exec_id);
  if (session.start) RETURN_IF_ERROR(StartTask(client, session.id, session.exec_id));
  std::optional<RawTerminal> raw;
  if (session.terminal) {
    raw.emplace();
    Resize(client, session);
  }
  SignalForwarder forwarder([&] { if (session.terminal) Resize(client, session); },
                            [&](int signal) {
                              (void)KillTask(client, session.id, signal, session.exec_id);
                            });
  io.StartCopy([&client, session] { CloseStdin(client, session); });
  absl::StatusOr<uint32_t> exit_status = waiter.Get();
  io.Finish();
  return exit_status;
}

absl::Status RemoveContainer(Client& client, const Container& container, bool force) {
  ASSIGN_OR_RETURN(std::optional<TaskProcess> task, GetTask(client, container.id()));
  if (task.has_value()) {
    if (IsRunning(*task) && !force) {
      return absl::FailedPreconditionError(
          absl::StrCat("container ", container.id(), " is running: stop it first or use rm -f"));
    }
    RETURN_IF_ERROR(ForceRemoveTask(client, container.id()));
  }
  return RemoveStoppedContainer(client, container);
}

absl::Status RemoveStoppedContainer(Client& client, const Container& container) {
  if (!container.snapshot_key().empty()) {
    snapshots_api::RemoveSnapshotRequest request;
    request.set_snapshotter(container.snapshotter());
    request.set_key(container.snapshot_key());
    google::protobuf::Empty empty;
    absl::Status status = client.Call(methods::kSnapshotsRemove, request, &empty);
    if (!status.ok() && !absl::IsNotFound(status)) return status;
  }
  absl::Status status = DeleteRecord(client, container.id());
  if (!status.ok() && !absl::IsNotFound(status)) return status;
  RemoveStateDir(client.options().ns, container.id());
  return absl::OkStatus();
}

}  // namespace berth::ctl
