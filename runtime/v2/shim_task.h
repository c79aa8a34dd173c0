#pragma once

// One task as the daemon sees it: a bundle, the shim binary that serves it and a ttrpc client
// to the shim's containerd.task.v2.Task service (shared event loop, calls from any thread).
//
// Waiting without a thread: WaitAsync sends the shim's blocking Task.Wait as an asynchronous
// ttrpc call; its reply (on the loop thread) completes the waiter. If the shim dies first, the
// call fails with Unavailable and the waiter is parked until the dead-shim cleanup knows the
// exit (MarkDead), exactly once either way.

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "containerd/runtime/task/v2/shim.pb.h"
#include "google/protobuf/message_lite.h"
#include "runtime/ttrpc/client.h"
#include "runtime/v2/bundle.h"

namespace berth::runtime_v2 {

namespace shimapi = containerd::task::v2;

inline constexpr char kTaskService[] = "containerd.task.v2.Task";
inline constexpr absl::Duration kShimCallTimeout = absl::Seconds(30);
inline constexpr absl::Duration kStateTimeout = absl::Seconds(2);  // io.containerd.timeout.task.state

// Where a shim adopted from the spare pool came from (SpareShims): the pool may take it back.
struct SpareOrigin {
  std::string binary_version;  // of the binary it was started from
  int tasks_served = 0;        // this task included
};

class ShimTask : public std::enable_shared_from_this<ShimTask> {
 public:
  using WaitCallback = std::function<void(absl::StatusOr<shimapi::WaitResponse>)>;

  ShimTask(Bundle bundle, std::string runtime, std::string binary,
           std::shared_ptr<ttrpc::Client> client)
      : bundle_(std::move(bundle)), runtime_(std::move(runtime)), binary_(std::move(binary)),
        client_(std::move(client)) {}
  ~ShimTask();

  const std::string& ns() const { return bundle_.ns(); }
  const std::string& id() const { return bundle_.id(); }
  const Bundle& bundle() const { return bundle_; }
  const std::string& runtime() const { return runtime_; }
  const std::string& binary() const { return binary_; }
  pid_t shim_pid() const { return shim_pid_; }
  uint32_t pid() const { return pid_; }
  void set_pids(pid_t shim_pid, uint32_t pid) {
    shim_pid_ = shim_pid;
    pid_ = pid;
  }

  const std::optional<SpareOrigin>& spare_origin() const { return spare_origin_; }
  void set_spare_origin(SpareOrigin origin) { spare_origin_ = std::move(origin); }

  // A unary call to the shim's Task service with the task's namespace.
  absl::Status Call(absl::string_view method, const google::protobuf::MessageLite& request,
                    google::protobuf::MessageLite* response,
                    absl::Duration timeout = kShimCallTimeout);
  // The same to another of the shim's services.
  absl::Status CallService(absl::string_view service, absl::string_view method,
                           const google::protobuf::MessageLite& request,
                           google::protobuf::MessageLite* response, absl::Duration timeout);

  // Sends a Task API call without waiting for its answer: calls sent one after another reach
  // the shim, which serves them in order, in that order (ttrpc::Client::Send).
  std::shared_ptr<ttrpc::PendingCall> Send(absl::string_view method,
                                           const google::protobuf::MessageLite& request,
                                           absl::Duration timeout = kShimCallTimeout);
  // Task.Connect: NotFound/Unavailable/DeadlineExceeded if the shim does not answer.
  absl::StatusOr<shimapi::ConnectResponse> Connect(absl::Duration timeout);
  absl::StatusOr<shimapi::StateResponse> State(const std::string& exec_id,
                                               absl::Duration timeout = kStateTimeout);

  // `done` runs exactly once, on the loop thread or the cleanup thread (or inline).
  void WaitAsync(const std::string& exec_id, WaitCallback done);

  // The shim is gone; `exit` is what `shim delete` reported (or 255). Completes parked waiters.
  void MarkDead(const shimapi::DeleteResponse& exit);
  bool dead() const;

  // Fails parked waiters (daemon shutdown) and closes the connection.
  void Close();
  // The connection, for a shim that outlives its task (a recycled spare): Close() leaves it
  // open. Calls through this task still reach the shim (which no longer has the task).
  std::shared_ptr<ttrpc::Client> ReleaseClient();

 private:
  void Park(WaitCallback done);

  Bundle bundle_;
  std::string runtime_;
  std::string binary_;
  const std::shared_ptr<ttrpc::Client> client_;
  std::optional<SpareOrigin> spare_origin_;  // set once, before the task is shared
  pid_t shim_pid_ = 0;
  uint32_t pid_ = 0;

  mutable absl::Mutex mu_;
  std::optional<shimapi::WaitResponse> dead_exit_ ABSL_GUARDED_BY(mu_);
  std::vector<WaitCallback> parked_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace berth::runtime_v2
