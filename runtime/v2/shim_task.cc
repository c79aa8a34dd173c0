#include "runtime/v2/shim_task.h"

#include "absl/strings/str_cat.h"
#include "plugins/base/status_macros.h"

namespace berth::runtime_v2 {

ShimTask::~ShimTask() { Close(); }

absl::Status ShimTask::Call(absl::string_view method,
                            const google::protobuf::MessageLite& request,
                            google::protobuf::MessageLite* response, absl::Duration timeout) {
  return CallService(kTaskService, method, request, response, timeout);
}

absl::Status ShimTask::CallService(absl::string_view service, absl::string_view method,
                                   const google::protobuf::MessageLite& request,
                                   google::protobuf::MessageLite* response,
                                   absl::Duration timeout) {
  return client_->Call(service, method, request, response,
                       {.metadata = ttrpc::Metadata::WithNamespace(ns()), .timeout = timeout});
}

std::shared_ptr<ttrpc::PendingCall> ShimTask::Send(absl::string_view method,
                                                   const google::protobuf::MessageLite& request,
                                                   absl::Duration timeout) {
  return client_->Send(kTaskService, method, request.SerializeAsString(),
                       {.metadata = ttrpc::Metadata::WithNamespace(ns()), .timeout = timeout});
}

absl::StatusOr<shimapi::ConnectResponse> ShimTask::Connect(absl::Duration timeout) {
  shimapi::ConnectRequest request;
  request.set_id(id());
  shimapi::ConnectResponse response;
  RETURN_IF_ERROR(Call("Connect", request, &response, timeout));
  return response;
}

absl::StatusOr<shimapi::StateResponse> ShimTask::State(const std::string& exec_id,
                                                       absl::Duration timeout) {
  shimapi::StateRequest request;
  request.set_id(id());
  request.set_exec_id(exec_id);
  shimapi::StateResponse response;
  RETURN_IF_ERROR(Call("State", request, &response, timeout));
  return response;
}

void ShimTask::WaitAsync(const std::string& exec_id, WaitCallback done) {
  std::optional<shimapi::WaitResponse> exit;
  {
    absl::MutexLock lock(&mu_);
    exit = dead_exit_;
  }
  if (exit.has_value()) {
    done(*exit);
    return;
  }
  shimapi::WaitRequest request;
  request.set_id(id());
  request.set_exec_id(exec_id);
  client_->CallAsync(
      kTaskService, "Wait", request.SerializeAsString(),
      {.metadata = ttrpc::Metadata::WithNamespace(ns())},
      [weak = weak_from_this(), done = std::move(done)](absl::StatusOr<std::string> payload) mutable {
        if (payload.ok()) {
          shimapi::WaitResponse response;
          if (!response.ParseFromString(*payload)) {
            done(absl::DataLossError("shim wait: malformed response"));
            return;
          }
          done(response);
          return;
        }
        std::shared_ptr<ShimTask> self = weak.lock();
        if (self != nullptr && absl::IsUnavailable(payload.status())) {
          self->Park(std::move(done));  // The shim died: the cleanup will know the exit.
          return;
        }
        done(payload.status());
      });
}

void ShimTask::Park(WaitCallback done) {
  std::optional<shimapi::WaitResponse> exit;
  bool closed;
  {
    absl::MutexLock lock(&mu_);
    exit = dead_exit_;
    closed = closed_;
    if (!exit.has_value() && !closed) {
      parked_.push_back(std::move(done));
      return;
    }
  }
  if (exit.has_value()) {
    done(*exit);
  } else {
    done(absl::UnavailableError(absl::StrCat("task ", id(), ": daemon shutting down")));
  }
}

void ShimTask::MarkDead(const shimapi::DeleteResponse& exit) {
  std::vector<WaitCallback> parked;
  shimapi::WaitResponse response;
  response.set_exit_status(exit.exit_status());
  *response.mutable_exited_at() = exit.exited_at();
  {
    absl::MutexLock lock(&mu_);
    if (dead_exit_.has_value()) return;
    dead_exit_ = response;
    parked.swap(parked_);
  }
  for (WaitCallback& done : parked) done(response);
}

bool ShimTask::dead() const {
  absl::MutexLock lock(&mu_);
  return dead_exit_.has_value();
}

void ShimTask::Close() {
  std::vector<WaitCallback> parked;
  bool released;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    released = released_;
    parked.swap(parked_);
  }
  for (WaitCallback& done : parked) {
    done(absl::UnavailableError(absl::StrCat("task ", id(), ": daemon shutting down")));
  }
  if (client_ && !released) client_->Close();
}

std::shared_ptr<ttrpc::Client> ShimTask::ReleaseClient() {
  absl::MutexLock lock(&mu_);
  released_ = true;
  return client_;
}

}  // namespace berth::runtime_v2
