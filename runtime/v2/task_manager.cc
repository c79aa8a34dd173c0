#include "runtime/v2/task_manager.h"

#include <sys/syscall.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "containerd/events/task.pb.h"
#include "containerd/services/ttrpc/events/v1/events.pb.h"
#include "plugins/base/file_util.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "runtime/ttrpc/socket.h"
#include "services/common/any.h"

namespace berth::runtime_v2 {
namespace {

// Copies whatever the shim wrote to its log FIFO to the daemon's stderr, without blocking.
void PumpLog(int fd) {
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) return;  // EAGAIN (the normal case: we hold a writer too) or an error.
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(STDERR_FILENO, buf + off, static_cast<size_t>(n - off));
      if (w <= 0) break;
      off += w;
    }
  }
}

}  // namespace

TaskManager::TaskManager(ManagerOptions options, events::Exchange* exchange)
    : options_(std::move(options)), exchange_(exchange) {}

absl::StatusOr<std::unique_ptr<TaskManager>> TaskManager::Start(ManagerOptions options,
                                                                events::Exchange* exchange) {
  std::unique_ptr<TaskManager> manager(new TaskManager(std::move(options), exchange));
  RETURN_IF_ERROR(manager->Init());
  return manager;
}

absl::Status TaskManager::Init() {
  RETURN_IF_ERROR(MkdirAll(options_.state_dir, 0711));
  RETURN_IF_ERROR(MkdirAll(options_.root_dir, 0711));
  ASSIGN_OR_RETURN(loop_, ttrpc::EventLoop::Create());
  server_ = std::make_unique<ttrpc::Server>(loop_.get());
  if (options_.serve_events) RETURN_IF_ERROR(ServeEvents());
  loop_thread_ = std::thread([this] {
    if (absl::Status status = loop_->Run(); !status.ok()) {
      BERTH_LOG(ERROR) << "runtime event loop: " << status;
    }
  });
  cleanup_thread_ = std::thread([this] { RunCleanups(); });
  Restore();
  if (options_.spare_shim) {
    if (absl::StatusOr<std::string> binary = ResolveShimBinary("io.containerd.berth.v1");
        binary.ok()) {
      spares_ = std::make_unique<SpareShims>(*binary, options_.state_dir, options_.root_dir,
                                             options_.env, loop_.get());
    }
  }
  return absl::OkStatus();
}

TaskManager::~TaskManager() {
  spares_.reset();  // Shuts the spare down over the loop, which must still run.
  std::map<std::string, std::shared_ptr<ShimTask>> tasks;
  {
    absl::MutexLock lock(&mu_);
    tasks.swap(tasks_);
  }
  {
    std::lock_guard<std::mutex> lock(cleanup_mu_);
    stopping_ = true;
  }
  cleanup_cv_.notify_all();
  if (cleanup_thread_.joinable()) cleanup_thread_.join();
  for (auto& [key, task] : tasks) task->Close();
  if (loop_ != nullptr) {
    loop_->Post([this] { server_->Shutdown(); });
    loop_->Stop();
  }
  if (loop_thread_.joinable()) loop_thread_.join();
  server_.reset();  // The loop is stopped: safe from this thread.
  tasks.clear();
  if (!options_.env.ttrpc_address.empty() && options_.serve_events) {
    absl::StatusOr<std::string> path = ttrpc::SocketPath(options_.env.ttrpc_address);
    if (path.ok()) unlink(path->c_str());
  }
}

absl::Status TaskManager::ServeEvents() {
  ASSIGN_OR_RETURN(std::string path, ttrpc::SocketPath(options_.env.ttrpc_address));
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, "remove stale ttrpc socket", path);
  }
  namespace ttrpc_events = containerd::services::events::ttrpc::v1;
  server_->Register("containerd.services.events.ttrpc.v1.Events", "Forward",
                    [this](ttrpc::ServerCall call) {
                      ttrpc_events::ForwardRequest request;
                      if (absl::Status s = call.ParseRequest(&request); !s.ok()) {
                        call.Fail(s);
                        return;
                      }
                      events::Envelope envelope;
                      envelope.ParseFromString(request.envelope().SerializeAsString());
                      absl::Status status = Forward(std::move(envelope));
                      if (status.ok()) {
                        call.Finish(absl::OkStatus());
                      } else {
                        call.Fail(status);
                      }
                    });
  return server_->Listen(path);
}

absl::Status TaskManager::Forward(events::Envelope envelope) {
  if (envelope.topic() == "/tasks/exit") {
    containerd::events::TaskExit exit;
    if (services::UnpackAny(envelope.event(), exit).ok()) {
      absl::MutexLock lock(&mu_);
      std::string key = absl::StrCat(Key(envelope.namespace_(), exit.container_id()), "/",
                                     exit.id(), "/", exit.pid());
      if (restored_exits_.erase(key) > 0) return absl::OkStatus();  // Published at restore.
    }
  }
  return exchange_->Forward(std::move(envelope));
}

absl::StatusOr<std::shared_ptr<ShimTask>> TaskManager::Get(const std::string& ns,
                                                           const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto it = tasks_.find(Key(ns, id));
  if (it == tasks_.end()) return NotFound(absl::StrCat("task ", id));
  return it->second;
}

std::vector<std::shared_ptr<ShimTask>> TaskManager::List(const std::string& ns) {
  std::vector<std::shared_ptr<ShimTask>> out;
  absl::MutexLock lock(&mu_);
  for (auto it = tasks_.lower_bound(ns + "/"); it != tasks_.end(); ++it) {
    if (it->second->ns() != ns) break;
    out.push_back(it->second);
  }
  return out;
}

absl::Status TaskManager::Watch(const std::shared_ptr<ShimTask>& task, UniqueFd log_fd) {
  auto log = std::make_shared<UniqueFd>(std::move(log_fd));
  auto pidfd = std::make_shared<UniqueFd>(
      static_cast<int>(syscall(SYS_pidfd_open, task->shim_pid(), 0)));
  if (!pidfd->valid()) return ErrnoError(errno, "pidfd_open of shim", task->id());
  {
    absl::MutexLock lock(&mu_);
    tasks_[Key(task->ns(), task->id())] = task;
    watches_[task.get()] = {log->get(), pidfd};
  }
  std::weak_ptr<ShimTask> weak = task;
  loop_->Post([this, log, pidfd, weak] {
    if (log->valid()) {
      (void)loop_->Add(log->get(), EPOLLIN, [log](uint32_t) { PumpLog(log->get()); });
    }
    (void)loop_->Add(pidfd->get(), EPOLLIN, [this, pidfd, weak](uint32_t) {
      loop_->Remove(pidfd->get());  // Destroys this callback: touch nothing after it.
      OnShimExit(weak);
    });
  });
  return absl::OkStatus();
}

// Stops pumping the task's log FIFO (closing it) and watching its shim's process (which a
// recycled spare outlives the task with). The pidfd watch may have removed itself already
// (the shim exited); its fd stays open until here, so the number is not another's yet.
void TaskManager::Unwatch(const std::shared_ptr<ShimTask>& task) {
  Watched watched;
  {
    absl::MutexLock lock(&mu_);
    auto it = watches_.find(task.get());
    if (it == watches_.end()) return;
    watched = std::move(it->second);
    watches_.erase(it);
  }
  loop_->Post([this, watched] {
    PumpLog(watched.log_fd);  // Whatever the shim logged last.
    loop_->Remove(watched.log_fd);
    loop_->Remove(watched.pidfd->get());
  });
}

void TaskManager::OnShimExit(std::weak_ptr<ShimTask> weak) {
  std::shared_ptr<ShimTask> task = weak.lock();
  if (task == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(cleanup_mu_);
    cleanup_queue_.push_back(std::move(task));
  }
  cleanup_cv_.notify_one();
}

void TaskManager::RunCleanups() {
  for (;;) {
    std::shared_ptr<ShimTask> task;
    {
      std::unique_lock<std::mutex> lock(cleanup_mu_);
      cleanup_cv_.wait(lock, [this] { return stopping_ || !cleanup_queue_.empty(); });
      if (stopping_) return;
      task = std::move(cleanup_queue_.front());
      cleanup_queue_.pop_front();
    }
    CleanupDead(task);
  }
}

void TaskManager::CleanupDead(const std::shared_ptr<ShimTask>& task) {
  {
    absl::MutexLock lock(&mu_);
    auto it = tasks_.find(Key(task->ns(), task->id()));
    if (it == tasks_.end() || it->second != task) return;  // Deleted normally.
    tasks_.erase(it);
  }
  BERTH_LOG(WARN) << "shim of task " << task->ns() << "/" << task->id()
                     << " exited: cleaning up";
  Unwatch(task);
  shimapi::DeleteResponse exit = CleanupBundle(task->bundle(), task->binary(), false);
  if (exit.pid() == 0) exit.set_pid(task->pid());
  task->MarkDead(exit);
  task->Close();
  PublishExit(task->ns(), task->id(), exit.pid(), exit, /*with_delete=*/true);
}

shimapi::DeleteResponse TaskManager::CleanupBundle(const Bundle& bundle,
                                                   const std::string& binary, bool publish) {
  shimapi::DeleteResponse exit;
  absl::StatusOr<shimapi::DeleteResponse> deleted =
      binary.empty() ? absl::NotFoundError("no shim binary recorded")
                     : DeleteShim(binary, bundle, options_.env);
  if (deleted.ok()) {
    exit = *deleted;
  } else {
    BERTH_LOG(WARN) << "cleanup of task " << bundle.ns() << "/" << bundle.id() << ": "
                       << deleted.status();
    exit.set_exit_status(255);
    *exit.mutable_exited_at() = services::Now();
  }
  if (absl::Status status = bundle.Delete(); !status.ok()) {
    BERTH_LOG(WARN) << "cleanup of task " << bundle.ns() << "/" << bundle.id() << ": "
                       << status;
  }
  if (publish) PublishExit(bundle.ns(), bundle.id(), exit.pid(), exit, true);
  return exit;
}

void TaskManager::PublishExit(const std::string& ns, const std::string& id, uint32_t pid,
                              const shimapi::DeleteResponse& exit, bool with_delete) {
  containerd::events::TaskExit task_exit;
  task_exit.set_container_id(id);
  task_exit.set_id(id);
  task_exit.set_pid(pid);
  task_exit.set_exit_status(exit.exit_status());
  *task_exit.mutable_exited_at() = exit.exited_at();
  exchange_->Notify(ns, "/tasks/exit", task_exit);
  if (!with_delete) return;
  containerd::events::TaskDelete task_delete;
  task_delete.set_container_id(id);
  task_delete.set_pid(pid);
  task_delete.set_exit_status(exit.exit_status());
  *task_delete.mutable_exited_at() = exit.exited_at();
  exchange_->Notify(ns, "/tasks/delete", task_delete);
}

}  // namespace berth::runtime_v2
