#pragma once

// TaskManager: the daemon side of containerd's runtime v2 (runtime/v2/manager.go, shim.go,
// shim_load.go). It owns
//   - one EventLoop thread shared by every shim: the ttrpc client connections, each shim's log
//     FIFO (copied to the daemon's stderr; no thread per shim) and a pidfd per shim that tells
//     when a shim process is gone;
//   - the ttrpc server on the daemon's ttrpc address serving
//     containerd.services.events.ttrpc.v1.Events/Forward into the exchange;
//   - one cleanup thread for dead shims (`shim delete`, TaskExit + TaskDelete events).
//
// Create: bundle -> `shim start` -> ttrpc connect -> Task.Create -> Task.Connect; for
// berth-shim without runtime options, a spare shim adopted into the bundle replaces the first
// two steps (spare_shims.h).
// Delete: Task.Delete -> Task.Shutdown -> close -> bundle removal.
// Restore (at construction): every bundle is reconnected in parallel with short timeouts;
// unreachable ones are cleaned up as dead; an init that exited while the daemon was down gets
// its /tasks/exit published (and the shim's own late retry of that event is dropped).
//
// Thread safety: all public methods may be called from any thread except the loop thread.

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "containerd/types/mount.pb.h"
#include "google/protobuf/any.pb.h"
#include "plugins/base/unique_fd.h"
#include "runtime/ttrpc/event_loop.h"
#include "runtime/ttrpc/server.h"
#include "runtime/v2/shim_binary.h"
#include "runtime/v2/shim_task.h"
#include "runtime/v2/spare_shims.h"
#include "services/events/exchange.h"

namespace berth::runtime_v2 {

struct ManagerOptions {
  std::string state_dir;  // <state>/io.containerd.runtime.v2.task
  std::string root_dir;   // <root>/io.containerd.runtime.v2.task
  ShimEnv env;
  bool serve_events = true;  // listen on env.ttrpc_address
  bool spare_shim = true;    // keep a berth-shim started ahead (spare_shims.h)
};

struct CreateOptions {
  std::string id;
  std::string runtime;  // runtime name or absolute shim path
  std::string spec_json;
  google::protobuf::Any runtime_options;  // Container.runtime.options (may be empty)
  google::protobuf::Any task_options;     // CreateTaskRequest.options (wins if set)
  std::vector<containerd::types::Mount> rootfs;
  std::string stdin_path, stdout_path, stderr_path;
  bool terminal = false;
};

class TaskManager {
 public:
  static absl::StatusOr<std::unique_ptr<TaskManager>> Start(ManagerOptions options,
                                                            events::Exchange* exchange);
  // Disconnects from the shims (they and their containers keep running), stops the loop.
  ~TaskManager();
  TaskManager(const TaskManager&) = delete;
  TaskManager& operator=(const TaskManager&) = delete;

  // AlreadyExists if the task exists; on failure nothing is left (shim, bundle, mounts).
  absl::StatusOr<std::shared_ptr<ShimTask>> Create(const std::string& ns,
                                                   const CreateOptions& options);
  // NotFound "task <id>: not found".
  absl::StatusOr<std::shared_ptr<ShimTask>> Get(const std::string& ns, const std::string& id);
  std::vector<std::shared_ptr<ShimTask>> List(const std::string& ns);
  // Deletes the init process and tears the shim down.
  absl::StatusOr<shimapi::DeleteResponse> Delete(const std::string& ns, const std::string& id);

  // Handles an envelope from Events.Forward (exposed for tests).
  absl::Status Forward(events::Envelope envelope);

 private:
  explicit TaskManager(ManagerOptions options, events::Exchange* exchange);
  absl::Status Init();
  void Restore();
  void RestoreOne(const std::string& ns, const std::string& id);
  absl::Status ServeEvents();
  // Registers the task and watches its log FIFO and shim process on the loop.
  absl::Status Watch(const std::shared_ptr<ShimTask>& task, UniqueFd log_fd);
  void Unwatch(const std::shared_ptr<ShimTask>& task);
  // Called on the loop thread when a shim process exits.
  void OnShimExit(std::weak_ptr<ShimTask> task);
  void CleanupDead(const std::shared_ptr<ShimTask>& task);
  // `shim delete`, bundle removal, events. For tasks that never registered (restore, create).
  shimapi::DeleteResponse CleanupBundle(const Bundle& bundle, const std::string& binary,
                                        bool publish);
  void Teardown(const std::shared_ptr<ShimTask>& task);
  void RunCleanups();
  absl::StatusOr<std::shared_ptr<ShimTask>> StartTask(const std::string& ns,
                                                      const CreateOptions& options,
                                                      const Bundle& bundle,
                                                      const std::string& binary);
  // Task.Create (then Connect and the exit watch) on a started shim. With `spare`, the one
  // Take gave (its Adopt still unanswered): `adopted` tells whether it took the task; when it
  // did not, nothing was made and the caller starts a shim of its own.
  absl::StatusOr<std::shared_ptr<ShimTask>> CreateOnShim(
      const CreateOptions& options, const Bundle& bundle, const std::string& binary,
      const google::protobuf::Any& topts, std::shared_ptr<ttrpc::Client> client,
      const SpareShims::Adopted* spare, bool* adopted, UniqueFd& log_fd);
  void PublishExit(const std::string& ns, const std::string& id, uint32_t pid,
                   const shimapi::DeleteResponse& exit, bool with_delete);
  static std::string Key(const std::string& ns, const std::string& id) { return ns + "/" + id; }

  ManagerOptions options_;
  events::Exchange* exchange_;
  std::unique_ptr<ttrpc::EventLoop> loop_;
  std::unique_ptr<ttrpc::Server> server_;  // Lives on the loop thread.
  std::unique_ptr<SpareShims> spares_;     // Null when disabled or berth-shim is not found.
  std::thread loop_thread_;

  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<ShimTask>> tasks_ ABSL_GUARDED_BY(mu_);
  // "ns/id/pid" of init exits this daemon published at restore (dropped if the shim retries).
  std::set<std::string> restored_exits_ ABSL_GUARDED_BY(mu_);
  // What Watch() registered on the loop for each task, for Unwatch: its log FIFO (the fd owned
  // by its loop callback) and a pidfd on its shim (kept open here too, so that Unwatch never
  // removes a reused fd number).
  struct Watched {
    int log_fd;
    std::shared_ptr<UniqueFd> pidfd;
  };
  std::map<ShimTask*, Watched> watches_ ABSL_GUARDED_BY(mu_);

  std::mutex cleanup_mu_;
  std::condition_variable cleanup_cv_;
  std::deque<std::shared_ptr<ShimTask>> cleanup_queue_;
  bool stopping_ = false;
  std::thread cleanup_thread_;
};

}  // namespace berth::runtime_v2
