#pragma once

// Shared pieces of the task tests: a busybox rootfs, OCI specs from `ctr oci spec`, FIFOs as ctr
// creates them, gRPC helpers for containers and tasks, and cleanup of everything a test's
// daemon started (tasks through the API; leftover shims of that daemon by PID).

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/services/containers/v1/containers.grpc.pb.h"
#include "containerd/services/tasks/v1/tasks.grpc.pb.h"
#include "grpcpp/channel.h"
#include "tests/testutil/test_daemon.h"

namespace berth::tasks_test {

namespace tasks_api = containerd::services::tasks::v1;
namespace containers_api = containerd::services::containers::v1;

// Why the task tests cannot run here, or "" when they can (root, runc, the runc shim, busybox).
std::string MissingPrerequisite();

// A temp dir with bin/busybox and its applet symlinks (sh, echo, sleep, id, true, ...).
class BusyboxRootfs {
 public:
  static absl::StatusOr<std::unique_ptr<BusyboxRootfs>> Create();
  ~BusyboxRootfs();
  const std::string& path() const { return path_; }

 private:
  explicit BusyboxRootfs(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// containerd's default spec (`ctr oci spec`) with these args and cgroupsPath /<ns>/<id>.
absl::StatusOr<std::string> SpecJson(const std::string& ns, const std::string& id,
                                     const std::vector<std::string>& args);

// A FIFO opened for reading the way ctr does (O_RDONLY|O_NONBLOCK) before the task starts.
class FifoReader {
 public:
  static absl::StatusOr<std::unique_ptr<FifoReader>> Create(const std::string& path);
  ~FifoReader();
  const std::string& path() const { return path_; }
  // Reads until EOF (the writer closed) or the timeout.
  std::string ReadAll(int timeout_ms = 10000);

 private:
  FifoReader(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

class TaskClient {
 public:
  TaskClient(std::shared_ptr<grpc::Channel> channel, std::string ns);

  const std::string& ns() const { return ns_; }
  tasks_api::Tasks::Stub& tasks() { return *tasks_; }

  // Containers.Create with runtime io.containerd.runc.v2 (empty runc Options, as ctr sends).
  grpc::Status CreateContainer(const std::string& id, const std::string& spec_json);
  grpc::Status DeleteContainer(const std::string& id);
  // Tasks.Create with the rootfs as a bind mount of `rootfs_dir`.
  grpc::Status CreateTask(const std::string& id, const std::string& rootfs_dir,
                          const std::string& stdout_path, uint32_t* pid);
  grpc::Status Start(const std::string& id, const std::string& exec_id = "");
  grpc::Status Get(const std::string& id, tasks_api::GetResponse* response,
                   const std::string& exec_id = "");
  grpc::Status Kill(const std::string& id, uint32_t signal, const std::string& exec_id = "");
  grpc::Status Delete(const std::string& id, tasks_api::DeleteResponse* response = nullptr);
  grpc::Status Wait(const std::string& id, tasks_api::WaitResponse* response,
                    const std::string& exec_id = "", int timeout_s = 30);
  grpc::Status Exec(const std::string& id, const std::string& exec_id,
                    const std::vector<std::string>& args, const std::string& stdout_path);
  // Kill -9 + Delete of every task, then Containers.Delete of every container.
  void CleanupAll();

 private:
  std::string ns_;
  std::unique_ptr<tasks_api::Tasks::Stub> tasks_;
  std::unique_ptr<containers_api::Containers::Stub> containers_;
};

// SIGKILLs (by PID) every shim process started with `-address <grpc_address>` (and `-id id`
// if `id` is not empty). Returns how many.
int KillShimsOf(const std::string& grpc_address);
int KillShimOf(const std::string& grpc_address, const std::string& id);

using testutil::RemoveNamespaceCgroups;

// A namespace unique to this test process, so runc state never collides with other users.
std::string UniqueNamespace(const std::string& prefix);

}  // namespace berth::tasks_test
