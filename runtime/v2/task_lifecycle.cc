// TaskManager: create, delete and restore (the first half is in task_manager.cc).

#include <atomic>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "plugins/base/file_util.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "runtime/v2/task_manager.h"
#include "services/common/any.h"

namespace berth::runtime_v2 {
namespace {

constexpr absl::Duration kLoadTimeout = absl::Seconds(2);
constexpr absl::Duration kShutdownTimeout = absl::Seconds(3);
constexpr int kRestoreParallelism = 16;

}  // namespace

absl::StatusOr<std::shared_ptr<ShimTask>> TaskManager::Create(const std::string& ns,
                                                              const CreateOptions& options) {
  ASSIGN_OR_RETURN(std::string binary, ResolveShimBinary(options.runtime));
  absl::StatusOr<Bundle> bundle = Bundle::Create(options_.state_dir, options_.root_dir, ns,
                                                 options.id, options.spec_json);
  if (absl::IsAlreadyExists(bundle.status())) {
    return AlreadyExists(absl::StrCat("task ", options.id));
  }
  RETURN_IF_ERROR(bundle.status());
  absl::StatusOr<std::shared_ptr<ShimTask>> task = StartTask(ns, options, *bundle, binary);
  if (spares_ != nullptr) spares_->Quiet();
  if (!task.ok()) {
    // Whatever got started (shim, mounts) is force-cleaned by `shim delete`.
    CleanupBundle(*bundle, binary, /*publish=*/false);
    return task.status();
  }
  return task;
}

absl::StatusOr<std::shared_ptr<ShimTask>> TaskManager::StartTask(const std::string& ns,
                                                                 const CreateOptions& options,
                                                                 const Bundle& bundle,
                                                                 const std::string& binary) {
  const google::protobuf::Any& topts =
      options.task_options.type_url().empty() ? options.runtime_options : options.task_options;
  ASSIGN_OR_RETURN(UniqueFd log_fd, OpenShimLog(bundle));
  RETURN_IF_ERROR(bundle.WriteFile("shim-binary-path", binary));
  if (spares_ != nullptr && topts.type_url().empty()) {
    if (std::optional<SpareShims::Adopted> spare = spares_->Take(binary, bundle)) {
      bool adopted = false;
      absl::StatusOr<std::shared_ptr<ShimTask>> task =
          CreateOnShim(options, bundle, binary, topts, spare->client, &*spare, &adopted, log_fd);
      if (adopted) return task;
      // The spare did not take the task (it died, say): a shim of our own, as without spares.
    }
  }
  std::string stdin_any = topts.type_url().empty() ? "" : topts.SerializeAsString();
  ASSIGN_OR_RETURN(std::string address, StartShim(binary, bundle, options_.env, stdin_any));
  ASSIGN_OR_RETURN(std::shared_ptr<ttrpc::Client> client,
                   ttrpc::Client::Connect(address, loop_.get()));
  return CreateOnShim(options, bundle, binary, topts, std::move(client), nullptr, nullptr,
                      log_fd);
}

absl::StatusOr<std::shared_ptr<ShimTask>> TaskManager::CreateOnShim(
    const CreateOptions& options, const Bundle& bundle, const std::string& binary,
    const google::protobuf::Any& topts, std::shared_ptr<ttrpc::Client> client,
    const SpareShims::Adopted* spare, bool* adopted, UniqueFd& log_fd) {
  // Nothing may return before Settle below: an unsettled spare would be left running.
  auto task = std::make_shared<ShimTask>(bundle, options.runtime, binary, std::move(client));

  shimapi::CreateTaskRequest request;
  request.set_id(options.id);
  request.set_bundle(bundle.path());
  for (const auto& mount : options.rootfs) *request.add_rootfs() = mount;
  request.set_terminal(options.terminal);
  request.set_stdin(options.stdin_path);
  request.set_stdout(options.stdout_path);
  request.set_stderr(options.stderr_path);
  if (!topts.type_url().empty()) *request.mutable_options() = topts;
  // Connect right behind Create, not a round trip later. Only its shim pid (for the exit watch)
  // is used, which does not depend on the order a shim serves the two in (Go shims serve calls
  // concurrently); the Create's timeout, since berth-shim answers it after the Create.
  shimapi::ConnectRequest connect;
  connect.set_id(options.id);
  std::shared_ptr<ttrpc::PendingCall> create_answer = task->Send("Create", request);
  std::shared_ptr<ttrpc::PendingCall> connect_answer = task->Send("Connect", connect);
  shimapi::CreateTaskResponse created;
  absl::Status status = create_answer->Wait(&created);
  if (spare != nullptr) {
    // Before anything closes the connection, which the pool still needs to discard the spare.
    RETURN_IF_ERROR(spares_->Settle(*spare));
    *adopted = true;
    task->set_spare_origin(spare->origin);
  }
  shimapi::ConnectResponse connected;
  if (status.ok()) status = connect_answer->Wait(&connected);
  if (status.ok()) {
    task->set_pids(static_cast<pid_t>(connected.shim_pid()), created.pid());
    status = Watch(task, std::move(log_fd));
  }
  if (!status.ok()) {
    shimapi::ShutdownRequest shutdown;
    shutdown.set_id(options.id);
    google::protobuf::Empty empty;
    (void)task->Call("Shutdown", shutdown, &empty, kShutdownTimeout);
    task->Close();
    return status;
  }
  return task;
}

absl::StatusOr<shimapi::DeleteResponse> TaskManager::Delete(const std::string& ns,
                                                            const std::string& id) {
  ASSIGN_OR_RETURN(std::shared_ptr<ShimTask> task, Get(ns, id));
  shimapi::DeleteRequest request;
  request.set_id(id);
  shimapi::DeleteResponse response;
  absl::Status status = task->Call("Delete", request, &response);
  if (!status.ok() && !absl::IsNotFound(status)) return status;
  {
    absl::MutexLock lock(&mu_);
    auto it = tasks_.find(Key(ns, id));
    if (it == tasks_.end() || it->second != task) return NotFound(absl::StrCat("task ", id));
    tasks_.erase(it);
  }
  Teardown(task);
  if (spares_ != nullptr) spares_->Quiet();
  return response;
}

// Shuts the shim down (or gives it back to the spare pool) and removes the bundle of a task
// that is no longer registered.
void TaskManager::Teardown(const std::shared_ptr<ShimTask>& task) {
  if (spares_ == nullptr || !spares_->Recycle(*task)) {
    shimapi::ShutdownRequest shutdown;
    shutdown.set_id(task->id());
    google::protobuf::Empty empty;
    absl::Status status = task->Call("Shutdown", shutdown, &empty, kShutdownTimeout);
    if (!status.ok() && !absl::IsUnavailable(status)) {
      BERTH_LOG(WARN) << "shutdown shim of " << task->ns() << "/" << task->id() << ": "
                         << status;
    }
  }
  Unwatch(task);
  task->Close();
  if (absl::Status deleted = task->bundle().Delete(); !deleted.ok()) {
    BERTH_LOG(WARN) << deleted;
  }
}

void TaskManager::Restore() {
  absl::Time started = absl::Now();
  std::vector<std::pair<std::string, std::string>> bundles;
  for (const std::string& ns : ListDirs(options_.state_dir)) {
    if (ns == SpareShims::kNamespace) continue;  // spares: SpareShims removes them
    for (const std::string& id : ListDirs(absl::StrCat(options_.state_dir, "/", ns))) {
      bundles.emplace_back(ns, id);
    }
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  size_t count = std::min<size_t>(bundles.size(), kRestoreParallelism);
  for (size_t i = 0; i < count; ++i) {
    workers.emplace_back([&] {
      for (size_t j = next++; j < bundles.size(); j = next++) {
        RestoreOne(bundles[j].first, bundles[j].second);
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  // Work dirs whose bundle is gone (the state dir is tmpfs: a reboot) are removed.
  for (const std::string& ns : ListDirs(options_.root_dir)) {
    if (ns == SpareShims::kNamespace) continue;
    for (const std::string& id : ListDirs(absl::StrCat(options_.root_dir, "/", ns))) {
      if (!PathExists(absl::StrCat(options_.state_dir, "/", ns, "/", id))) {
        (void)RemoveAll(absl::StrCat(options_.root_dir, "/", ns, "/", id));
      }
    }
  }
  if (!bundles.empty()) {
    absl::MutexLock lock(&mu_);
    BERTH_LOG(INFO) << "restored " << tasks_.size() << " of " << bundles.size() << " tasks in "
                    << absl::ToInt64Milliseconds(absl::Now() - started) << " ms";
  }
}

void TaskManager::RestoreOne(const std::string& ns, const std::string& id) {
  Bundle bundle = Bundle::Load(options_.state_dir, options_.root_dir, ns, id);
  absl::StatusOr<std::string> binary = ReadFile(bundle.File("shim-binary-path"));
  absl::Status status = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string address, ReadFile(bundle.File("address")));
    RETURN_IF_ERROR(binary.status());
    ASSIGN_OR_RETURN(UniqueFd log_fd, OpenShimLog(bundle));
    ASSIGN_OR_RETURN(std::unique_ptr<ttrpc::Client> client,
                     ttrpc::Client::Connect(absl::StripAsciiWhitespace(address), loop_.get()));
    auto task = std::make_shared<ShimTask>(bundle, "", *binary, std::move(client));
    ASSIGN_OR_RETURN(shimapi::ConnectResponse connected, task->Connect(kLoadTimeout));
    ASSIGN_OR_RETURN(shimapi::StateResponse state, task->State("", kLoadTimeout));
    task->set_pids(static_cast<pid_t>(connected.shim_pid()), state.pid());
    if (state.status() == containerd::v1::types::STOPPED) {
      // The exit happened while we were down: the shim's own event may be lost.
      shimapi::DeleteResponse exit;
      exit.set_exit_status(state.exit_status());
      *exit.mutable_exited_at() = state.exited_at();
      {
        absl::MutexLock lock(&mu_);
        restored_exits_.insert(absl::StrCat(Key(ns, id), "/", id, "/", state.pid()));
      }
      PublishExit(ns, id, state.pid(), exit, /*with_delete=*/false);
    }
    return Watch(task, std::move(log_fd));
  }();
  if (status.ok()) return;
  BERTH_LOG(WARN) << "task " << ns << "/" << id << " not restored (" << status
                     << "): cleaning up";
  CleanupBundle(bundle, binary.ok() ? std::string(absl::StripAsciiWhitespace(*binary)) : "",
                /*publish=*/true);
}

}  // namespace berth::runtime_v2
