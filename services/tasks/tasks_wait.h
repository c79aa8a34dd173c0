#pragma once

// The reactor of one Tasks.Wait call: finished exactly once, by the shim's answer or by the
// client's cancellation, whichever comes first. Shared with the pending shim callback.

#include <memory>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "containerd/runtime/task/v2/shim.pb.h"
#include "containerd/services/tasks/v1/tasks.pb.h"
#include "grpcpp/support/server_callback.h"

namespace berth::services {

class WaitReactor final : public grpc::ServerUnaryReactor {
 public:
  // The reactor keeps itself alive until gRPC is done with it (OnDone).
  static std::shared_ptr<WaitReactor> Create(containerd::services::tasks::v1::WaitResponse* out);

  void Complete(const absl::StatusOr<containerd::task::v2::WaitResponse>& result);
  void OnCancel() override;
  void OnDone() override;

 private:
  explicit WaitReactor(containerd::services::tasks::v1::WaitResponse* out) : out_(out) {}

  absl::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  containerd::services::tasks::v1::WaitResponse* out_;
  std::shared_ptr<WaitReactor> self_;
};

}  // namespace berth::services
