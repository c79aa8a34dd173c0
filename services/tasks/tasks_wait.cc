#include "services/tasks/tasks_wait.h"

#include "services/common/grpc_status.h"

namespace berth::services {

std::shared_ptr<WaitReactor> WaitReactor::Create(
    containerd::services::tasks::v1::WaitResponse* out) {
  std::shared_ptr<WaitReactor> reactor(new WaitReactor(out));
  reactor->self_ = reactor;
  return reactor;
}

void WaitReactor::Complete(const absl::StatusOr<containerd::task::v2::WaitResponse>& result) {
  absl::MutexLock lock(&mu_);
  if (finished_) return;
  finished_ = true;
  if (!result.ok()) {
    Finish(ToGrpc(result.status()));
    return;
  }
  out_->set_exit_status(result->exit_status());
  *out_->mutable_exited_at() = result->exited_at();
  Finish(grpc::Status::OK);
}

void WaitReactor::OnCancel() {
  absl::MutexLock lock(&mu_);
  if (finished_) return;
  finished_ = true;
  Finish(grpc::Status::CANCELLED);
}

void WaitReactor::OnDone() {
  // The pending shim callback may still hold a reference; it then only sees finished_.
  std::shared_ptr<WaitReactor> self = std::move(self_);
}

}  // namespace berth::services
