#pragma once

// containerd.task.v2.Task for one container (containerd's runtime/v2/runc/v2/service.go, one
// container per shim): the init process and its exec processes, their exits from the SIGCHLD
// reaper, and the task events. Everything runs on the shim's single event loop: Wait keeps its
// ServerCall and replies at the exit, with no thread per waiter.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "berth/shim/v1/spare.pb.h"
#include "containerd/runtime/task/v2/shim.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "plugins/base/unique_fd.h"
#include "runtime/shim/backend.h"
#include "runtime/shim/flags.h"
#include "runtime/shim/idle_trim.h"
#include "runtime/shim/process_io.h"
#include "runtime/shim/publisher.h"
#include "runtime/ttrpc/server.h"

namespace berth::shim {

namespace shimapi = containerd::task::v2;

struct ShimProcess {
  enum class State { kCreated, kRunning, kPaused, kStopped };

  std::string exec_id;  // "" for the init.
  pid_t pid = 0;
  State state = State::kCreated;
  uint32_t exit_status = 0;
  google::protobuf::Timestamp exited_at;
  StdioPaths stdio;
  std::string process_json;  // Exec processes: the OCI process object.
  std::unique_ptr<ProcessIo> io;
  std::map<uint64_t, ttrpc::ServerCall> waiters;
};

class TaskService {
 public:
  // `stdin_options`: the serialized Any the daemon passed to `start` (may be empty).
  // `on_shutdown` runs once Shutdown found no container left.
  TaskService(ttrpc::EventLoop* loop, const Flags& flags, std::string stdin_options,
              Publisher* publisher, std::function<void()> on_shutdown);
  ~TaskService();

  void Register(ttrpc::Server* server);
  // The task's bundle: the -bundle it started with, or the one it was adopted into.
  const std::string& bundle() const { return flags_.bundle; }
  // SIGCHLD: reaps every child.
  void Reap();

 private:
  // Handlers (task_service.cc: lifecycle; task_service_ops.cc: the rest).
  absl::StatusOr<shimapi::CreateTaskResponse> Create(const shimapi::CreateTaskRequest& request);
  absl::StatusOr<shimapi::StartResponse> Start(const shimapi::StartRequest& request);
  absl::StatusOr<shimapi::DeleteResponse> Delete(const shimapi::DeleteRequest& request);
  absl::StatusOr<shimapi::StateResponse> State(const shimapi::StateRequest& request);
  absl::Status Exec(const shimapi::ExecProcessRequest& request);
  absl::Status Kill(const shimapi::KillRequest& request);
  absl::Status Pause(const shimapi::PauseRequest& request);
  absl::Status Resume(const shimapi::ResumeRequest& request);
  absl::StatusOr<shimapi::PidsResponse> Pids(const shimapi::PidsRequest& request);
  absl::StatusOr<shimapi::StatsResponse> Stats(const shimapi::StatsRequest& request);
  absl::Status Update(const shimapi::UpdateTaskRequest& request);
  absl::Status ResizePty(const shimapi::ResizePtyRequest& request);
  absl::Status CloseIO(const shimapi::CloseIORequest& request);
  void Wait(ttrpc::ServerCall call);
  // berth.shim.v1.Spare (spare.cc), registered only for `start -spare`.
  void RegisterSpare(ttrpc::Server* server);
  // A spare makes its next task's network namespace while it waits (~0.5 ms less Create).
  void PrepareNetworkNamespace();
  template <class Request>
  void RegisterSpareMethod(ttrpc::Server* server, const char* name,
                           absl::Status (TaskService::*method)(const Request&));
  absl::Status Adopt(const berth::shim::v1::AdoptRequest& request);
  absl::Status Recycle(const berth::shim::v1::RecycleRequest& request);
  // Adopt and Recycle: writes `address` and `shim.pid` into `bundle` and moves there.
  absl::Status MoveIntoBundle(const std::string& bundle);
  // From now on the shim is (ns, id) in `bundle`: its flags and its events' namespace.
  void ServeAs(const std::string& ns, const std::string& id, const std::string& bundle);
  void Shutdown(ttrpc::ServerCall call);

  absl::StatusOr<ShimProcess*> Find(const std::string& id, const std::string& exec_id);
  absl::StatusOr<ShimProcess*> FindRunningInit(const std::string& id);
  absl::Status StartExec(ShimProcess& exec);
  void OnExit(ShimProcess& process, int wait_status);
  void WatchOom();
  void UnwatchOom();
  std::string RootfsPath() const;

  ttrpc::EventLoop* loop_;
  Flags flags_;
  std::string stdin_options_;
  Publisher* publisher_;
  std::function<void()> on_shutdown_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<ShimProcess> init_;
  bool rootfs_mounted_ = false;
  // The deleted task's rootfs, out of the mount table but alive until the shim exits or is
  // recycled (see DetachRootfs: the final unmount's sync is left to the exiting shim).
  std::vector<UniqueFd> detached_rootfs_;
  std::map<std::string, std::unique_ptr<ShimProcess>> execs_;
  int oom_fd_ = -1;
  int64_t oom_kills_ = 0;  // cgroup v2: the last oom_kill count seen.
  uint64_t next_waiter_ = 1;
  bool adopted_ = false;
  // A spare's network namespace made ahead for its next task (PrepareNetworkNamespace).
  UniqueFd ready_netns_;
  const std::string spare_namespace_;  // the -namespace a spare started with
  IdleTrimmer trimmer_;
};

}  // namespace berth::shim
