#include "services/tasks/tasks_service.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "containerd/services/tasks/v1/tasks.grpc.pb.h"
#include "containerd/types/metrics.pb.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/types.h"
#include "runtime/v2/task_manager.h"
#include "services/common/any.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/common/list_filter.h"
#include "services/metadata/metadata.h"
#include "services/tasks/tasks_wait.h"

namespace berth::services {
namespace {

namespace api = containerd::services::tasks::v1;
namespace shim = containerd::task::v2;
namespace types = containerd::v1::types;
using google::protobuf::Empty;
using runtime_v2::ShimTask;
using runtime_v2::TaskManager;

types::Process ToProcess(const shim::StateResponse& state, const std::string& container_id) {
  types::Process process;
  process.set_container_id(container_id);
  process.set_id(state.exec_id().empty() ? state.id() : state.exec_id());
  process.set_pid(state.pid());
  process.set_status(state.status());
  process.set_stdin(state.stdin());
  process.set_stdout(state.stdout());
  process.set_stderr(state.stderr());
  process.set_terminal(state.terminal());
  process.set_exit_status(state.exit_status());
  *process.mutable_exited_at() = state.exited_at();
  return process;
}

class TasksService final : public api::Tasks::WithCallbackMethod_Wait<api::Tasks::Service>,
                           public GrpcService {
 public:
  TasksService(metadata::ContainerStore& containers, TaskManager& manager)
      : containers_(containers), manager_(manager) {}
  grpc::Service* service() override { return this; }

  // Pending Waits end now (Unavailable) instead of holding the server's shutdown grace period.
  void BeginShutdown() override {
    std::vector<std::weak_ptr<WaitReactor>> waits;
    {
      absl::MutexLock lock(&waits_mu_);
      waits.swap(waits_);
    }
    for (auto& weak : waits) {
      if (auto reactor = weak.lock()) {
        reactor->Complete(absl::UnavailableError("daemon shutting down: unavailable"));
      }
    }
  }

  grpc::Status Create(grpc::ServerContext* context, const api::CreateTaskRequest* request,
                      api::CreateTaskResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      ASSIGN_OR_RETURN(metadata::Container container,
                       containers_.Get(ns, request->container_id()));
      if (request->has_checkpoint()) return Unimplemented("task create from checkpoint");
      runtime_v2::CreateOptions options{
          .id = container.id(),
          .runtime = request->runtime_path().empty() ? container.runtime().name()
                                                     : request->runtime_path(),
          .spec_json = container.spec().value(),
          .runtime_options = container.runtime().options(),
          .task_options = request->options(),
          .rootfs = {request->rootfs().begin(), request->rootfs().end()},
          .stdin_path = request->stdin(),
          .stdout_path = request->stdout(),
          .stderr_path = request->stderr(),
          .terminal = request->terminal(),
      };
      ASSIGN_OR_RETURN(std::shared_ptr<ShimTask> task, manager_.Create(ns, options));
      response->set_container_id(container.id());
      response->set_pid(task->pid());
      return absl::OkStatus();
    }());
  }

  grpc::Status Start(grpc::ServerContext* context, const api::StartRequest* request,
                     api::StartResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(auto task, GetTask(*context, request->container_id()));
      shim::StartRequest start;
      start.set_id(task->id());
      start.set_exec_id(request->exec_id());
      shim::StartResponse started;
      RETURN_IF_ERROR(task->Call("Start", start, &started));
      response->set_pid(started.pid());
      return absl::OkStatus();
    }());
  }

  grpc::Status Delete(grpc::ServerContext* context, const api::DeleteTaskRequest* request,
                      api::DeleteResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(auto task, GetTask(*context, request->container_id()));
      ASSIGN_OR_RETURN(shim::DeleteResponse deleted, manager_.Delete(task->ns(), task->id()));
      response->set_id(task->id());
      response->set_pid(deleted.pid());
      response->set_exit_status(deleted.exit_status());
      *response->mutable_exited_at() = deleted.exited_at();
      return absl::OkStatus();
    }());
  }

  grpc::Status DeleteProcess(grpc::ServerContext* context,
                             const api::DeleteProcessRequest* request,
                             api::DeleteResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      if (request->exec_id().empty()) return InvalidArgument("exec id cannot be empty");
      ASSIGN_OR_RETURN(auto task, GetTask(*context, request->container_id()));
      shim::DeleteRequest del;
      del.set_id(task->id());
      del.set_exec_id(request->exec_id());
      shim::DeleteResponse deleted;
      RETURN_IF_ERROR(task->Call("Delete", del, &deleted));
      response->set_id(request->exec_id());
      response->set_pid(deleted.pid());
      response->set_exit_status(deleted.exit_status());
      *response->mutable_exited_at() = deleted.exited_at();
      return absl::OkStatus();
    }());
  }

  grpc::Status Get(grpc::ServerContext* context, const api::GetRequest* request,
                   api::GetResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(auto task, GetTask(*context, request->container_id()));
      ASSIGN_OR_RETURN(shim::StateResponse state, task->State(request->exec_id()));
      *response->mutable_process() = ToProcess(state, task->id());
      return absl::OkStatus();
    }());
  }

  grpc::Status List(grpc::ServerContext* context, const api::ListTasksRequest*,
                    api::ListTasksResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      for (const std::shared_ptr<ShimTask>& task : manager_.List(ns)) {
        absl::StatusOr<shim::StateResponse> state = task->State("");
        if (!state.ok()) continue;  // Deleted meanwhile, or its shim is gone.
        *response->add_tasks() = ToProcess(*state, task->id());
      }
      return absl::OkStatus();
    }());
  }

  grpc::Status Kill(grpc::ServerContext* context, const api::KillRequest* request,
                    Empty*) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(auto task, GetTask(*context, request->container_id()));
      shim::KillRequest kill;
      kill.set_id(task->id());
      kill.set_exec_id(request->exec_id());
      kill.set_signal(request->signal());
      kill.set_all(request->all());
      Empty empty;
      return task->Call("Kill", kill, &empty);
    }());
  }

  grpc::Status Exec(grpc::ServerContext* context, const api::ExecProcessRequest* request,
                    Empty*) override {
    return ToGrpc([&]() -> absl::Status {
      if (request->exec_id().empty()) return InvalidArgument("exec id cannot be empty");
      ASSIGN_OR_RETURN(auto task, GetTask(*context, request->container_id()));
      shim::ExecProcessRequest exec;
      exec.set_id(task->id());
      exec.set_exec_id(request->exec_id());
      exec.set_terminal(request->terminal());
      exec.set_stdin(request->stdin());
      exec.set_stdout(request->stdout());
      exec.set_stderr(request->stderr());
      *exec.mutable_spec() = request->spec();
      Empty empty;
      return task->Call("Exec", exec, &empty);
    }());
  }

  grpc::Status ResizePty(grpc::ServerContext* context, const api::ResizePtyRequest* request,
                         Empty*) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(auto task, GetTask(*context, request->container_id()));
      shim::ResizePtyRequest resize;
      resize.set_id(task->id());
      resize.set_exec_id(request->exec_id());
      resize.set_width(request->width());
      resize.set_height(request->height());
      Empty empty;
      return task->Call("ResizePty", resize, &empty);
    }());
  }

  grpc::Status CloseIO(grpc::ServerContext* context, const api::CloseIORequest* request,
                       Empty*) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(auto task, GetTask(*context, request->container_id()));
      if (!request->stdin()) return absl::OkStatus();
      shim::CloseIORequest close;
      close.set_id(task->id());
      close.set_exec_id(request->exec_id());
      close.set_stdin(true);
      Empty empty;
      return task->Call("CloseIO", close, &empty);
    }());
  }

  grpc::Status Pause(grpc::ServerContext* context, const api::PauseTaskRequest* request,
                     Empty*) override {
    return ToGrpc(Simple<shim::PauseRequest>(*context, request->container_id(), "Pause"));
  }

  grpc::Status Resume(grpc::ServerContext* context, const api::ResumeTaskRequest* request,
                      Empty*) override {
    return ToGrpc(Simple<shim::ResumeRequest>(*context, request->container_id(), "Resume"));
  }

  grpc::Status ListPids(grpc::ServerContext* context, const api::ListPidsRequest* request,
                        api::ListPidsResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(auto task, GetTask(*context, request->container_id()));
      shim::PidsRequest pids;
      pids.set_id(task->id());
      shim::PidsResponse listed;
      RETURN_IF_ERROR(task->Call("Pids", pids, &listed));
      *response->mutable_processes() = listed.processes();
      return absl::OkStatus();
    }());
  }

  grpc::Status Checkpoint(grpc::ServerContext* context, const api::CheckpointTaskRequest*,
                          api::CheckpointTaskResponse*) override {
    return ToGrpc([&]() -> absl::Status {
      RETURN_IF_ERROR(RequireNamespace(*context).status());
      return Unimplemented("checkpoint");
    }());
  }

  grpc::Status Update(grpc::ServerContext* context, const api::UpdateTaskRequest* request,
                      Empty*) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(auto task, GetTask(*context, request->container_id()));
      shim::UpdateTaskRequest update;
      update.set_id(task->id());
      *update.mutable_resources() = request->resources();
      *update.mutable_annotations() = request->annotations();
      Empty empty;
      return task->Call("Update", update, &empty);
    }());
  }

  grpc::Status Metrics(grpc::ServerContext* context, const api::MetricsRequest* request,
                       api::MetricsResponse* response) override;

  grpc::ServerUnaryReactor* Wait(grpc::CallbackServerContext* context,
                                 const api::WaitRequest* request,
                                 api::WaitResponse* response) override;

 private:
  absl::StatusOr<std::shared_ptr<ShimTask>> GetTask(const grpc::ServerContextBase& context,
                                                    const std::string& id) {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(context));
    RETURN_IF_ERROR(containers_.Get(ns, id).status());
    return manager_.Get(ns, id);
  }

  template <typename Req>
  absl::Status Simple(const grpc::ServerContextBase& context, const std::string& id,
                      absl::string_view method) {
    ASSIGN_OR_RETURN(auto task, GetTask(context, id));
    Req request;
    request.set_id(task->id());
    Empty empty;
    return task->Call(method, request, &empty);
  }

  void TrackWait(const std::shared_ptr<WaitReactor>& reactor) {
    absl::MutexLock lock(&waits_mu_);
    std::erase_if(waits_, [](const std::weak_ptr<WaitReactor>& w) { return w.expired(); });
    waits_.push_back(reactor);
  }

  metadata::ContainerStore& containers_;
  TaskManager& manager_;
  absl::Mutex waits_mu_;
  std::vector<std::weak_ptr<WaitReactor>> waits_ ABSL_GUARDED_BY(waits_mu_);
};

grpc::Status TasksService::Metrics(grpc::ServerContext* context,
                                   const api::MetricsRequest* request,
                                   api::MetricsResponse* response) {
  return ToGrpc([&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
    ASSIGN_OR_RETURN(auto match,
                     MakeListFilter<ShimTask>(request->filters(), [](const ShimTask& task) {
                       return filters::AdaptFields(
                           {{"id", task.id()}, {"namespace", task.ns()}, {"runtime", ""}});
                     }));
    for (const std::shared_ptr<ShimTask>& task : manager_.List(ns)) {
      if (!match(*task)) continue;
      google::protobuf::Timestamp collected = Now();
      shim::StatsRequest stats;
      stats.set_id(task->id());
      shim::StatsResponse collected_stats;
      if (!task->Call("Stats", stats, &collected_stats).ok()) continue;
      containerd::types::Metric* metric = response->add_metrics();
      *metric->mutable_timestamp() = collected;
      metric->set_id(task->id());
      *metric->mutable_data() = collected_stats.stats();
    }
    return absl::OkStatus();
  }());
}

grpc::ServerUnaryReactor* TasksService::Wait(grpc::CallbackServerContext* context,
                                             const api::WaitRequest* request,
                                             api::WaitResponse* response) {
  std::shared_ptr<WaitReactor> reactor = WaitReactor::Create(response);
  absl::StatusOr<std::shared_ptr<ShimTask>> task = GetTask(*context, request->container_id());
  if (!task.ok()) {
    reactor->Complete(task.status());
    return reactor.get();
  }
  // gRPC keeps the reactor until OnDone; the callback's reference covers a late shim reply.
  TrackWait(reactor);
  (*task)->WaitAsync(request->exec_id(),
                     [reactor](absl::StatusOr<shim::WaitResponse> result) {
                       reactor->Complete(result);
                     });
  return reactor.get();
}

}  // namespace

void RegisterTasksService(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kGrpcPlugin,
      .id = "tasks",
      .requires_types = {plugins::kRuntimePlugin, plugins::kMetadataPlugin},
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        ASSIGN_OR_RETURN(auto* metadata,
                         context.Get<metadata::Metadata>(plugins::kMetadataPlugin));
        ASSIGN_OR_RETURN(auto* manager, context.Get<TaskManager>(plugins::kRuntimePlugin));
        return plugins::Instance::Of<GrpcService>(
            std::make_unique<TasksService>(metadata->containers(), *manager));
      }});
}

}  // namespace berth::services
