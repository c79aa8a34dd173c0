#include "runtime/ttrpc/client.h"

#include <google/protobuf/message_lite.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>

#include "absl/strings/str_cat.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "runtime/ttrpc/client_core.h"
#include "runtime/ttrpc/socket.h"

namespace berth::ttrpc {

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(absl::string_view address) {
  ASSIGN_OR_RETURN(UniqueFd fd, ConnectUnix(address));
  ASSIGN_OR_RETURN(std::unique_ptr<EventLoop> loop, EventLoop::Create());
  EventLoop* raw = loop.get();
  return Start(std::move(fd), std::move(loop), raw);
}

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(absl::string_view address,
                                                        EventLoop* loop) {
  ASSIGN_OR_RETURN(UniqueFd fd, ConnectUnix(address));
  return Start(std::move(fd), nullptr, loop);
}

absl::StatusOr<std::unique_ptr<Client>> Client::Adopt(UniqueFd fd, EventLoop* loop) {
  RETURN_IF_ERROR(SetNonBlocking(fd.get()));
  return Start(std::move(fd), nullptr, loop);
}

absl::StatusOr<std::unique_ptr<Client>> Client::Start(UniqueFd fd,
                                                      std::unique_ptr<EventLoop> owned_loop,
                                                      EventLoop* loop) {
  auto core = std::make_shared<ClientCore>(loop);
  // Posted, like every call after it, so the order holds whatever thread the caller is on.
  loop->Post(
      [core, fd = std::make_shared<UniqueFd>(std::move(fd))] { core->Start(std::move(*fd)); });
  return std::unique_ptr<Client>(new Client(std::move(owned_loop), loop, std::move(core)));
}

Client::Client(std::unique_ptr<EventLoop> owned_loop, EventLoop* loop,
               std::shared_ptr<ClientCore> core)
    : owned_loop_(std::move(owned_loop)), loop_(loop), core_(std::move(core)) {
  if (owned_loop_) {
    thread_ = std::thread([loop = owned_loop_.get()] {
      if (absl::Status status = loop->Run(); !status.ok()) {
        BERTH_LOG(ERROR) << "ttrpc client loop: " << status;
      }
    });
  }
}

Client::~Client() {
  Close();
  if (owned_loop_) {
    owned_loop_->Stop();
    thread_.join();
    // Whatever was posted after the last round (the close above, late calls) runs here.
    (void)owned_loop_->RunOnce(absl::ZeroDuration());
  }
}

void Client::Close() {
  loop_->Post([core = core_] { core->Close(absl::CancelledError("ttrpc: client closed")); });
}

bool Client::closed() const { return core_->closed(); }

void Client::CallAsync(absl::string_view service, absl::string_view method, std::string payload,
                       CallOptions options, Callback done) {
  Request request{std::string(service), std::string(method), std::move(payload), 0,
                  std::move(options.metadata)};
  loop_->Post([core = core_, request = std::move(request), timeout = options.timeout,
               done = std::move(done)]() mutable {
    core->Send(std::move(request), timeout, std::move(done));
  });
}

absl::StatusOr<std::string> PendingCall::Wait() {
  std::unique_lock lock(mu_);
  answered_.wait(lock, [&] { return value_.has_value(); });
  return *value_;
}

absl::Status PendingCall::Wait(google::protobuf::MessageLite* response) {
  ASSIGN_OR_RETURN(std::string reply, Wait());
  if (response != nullptr && !response->ParseFromString(reply)) {
    return absl::InternalError(absl::StrCat("ttrpc: unmarshal response of ", method_));
  }
  return absl::OkStatus();
}

void PendingCall::Answer(absl::StatusOr<std::string> payload) {
  std::lock_guard lock(mu_);
  value_ = std::move(payload);
  answered_.notify_all();
}

std::shared_ptr<PendingCall> Client::Send(absl::string_view service, absl::string_view method,
                                          std::string payload, const CallOptions& options) {
  auto pending = std::make_shared<PendingCall>(std::string(method));
  CallAsync(service, method, std::move(payload), options,
            [pending](absl::StatusOr<std::string> reply) { pending->Answer(std::move(reply)); });
  return pending;
}

absl::Status Client::NotOnLoopThread() const {
  if (!loop_->InLoopThread()) return absl::OkStatus();
  return absl::FailedPreconditionError("ttrpc: blocking Call on the client's loop thread");
}

absl::StatusOr<std::string> Client::CallRaw(absl::string_view service, absl::string_view method,
                                            std::string payload, const CallOptions& options) {
  RETURN_IF_ERROR(NotOnLoopThread());
  return Send(service, method, std::move(payload), options)->Wait();
}

absl::Status Client::Call(absl::string_view service, absl::string_view method,
                          const google::protobuf::MessageLite& request,
                          google::protobuf::MessageLite* response, const CallOptions& options) {
  std::string payload;
  if (!request.SerializeToString(&payload)) {
    return absl::InvalidArgumentError(absl::StrCat("ttrpc: marshal request of ", method));
  }
  RETURN_IF_ERROR(NotOnLoopThread());
  return Send(service, method, std::move(payload), options)->Wait(response);
}

absl::StatusOr<std::unique_ptr<ClientStream>> Client::OpenStream(absl::string_view service,
                                                                 absl::string_view method,
                                                                 std::string payload,
                                                                 const StreamOptions& options) {
  Request request{std::string(service), std::string(method), std::move(payload), 0,
                  options.call.metadata};
  uint8_t flags = options.client_streaming ? kFlagRemoteOpen : kFlagRemoteClosed;
  auto state = std::make_shared<StreamState>();
  loop_->Post([core = core_, request = std::move(request), flags, timeout = options.call.timeout,
               state]() mutable { core->OpenStream(std::move(request), flags, timeout, state); });
  return std::unique_ptr<ClientStream>(
      new ClientStream(core_, std::move(state), options.client_streaming));
}

ClientStream::ClientStream(std::shared_ptr<ClientCore> core, std::shared_ptr<StreamState> state,
                           bool client_streaming)
    : core_(std::move(core)), state_(std::move(state)), send_closed_(!client_streaming) {}

ClientStream::~ClientStream() {
  core_->loop()->Post([core = core_, state = state_] { core->DropStream(state); });
}

absl::Status ClientStream::SendRaw(std::string payload) {
  if (send_closed_) {
    return absl::FailedPreconditionError("ttrpc: send on a stream closed for sending");
  }
  if (payload.size() > kMaxMessageSize) {
    return OversizedError(payload.size());
  }
  core_->loop()->Post([core = core_, state = state_, payload = std::move(payload)] {
    core->SendData(state, payload, 0);
  });
  return absl::OkStatus();
}

absl::Status ClientStream::Send(const google::protobuf::MessageLite& message) {
  std::string payload;
  if (!message.SerializeToString(&payload)) {
    return absl::InvalidArgumentError("ttrpc: marshal stream message");
  }
  return SendRaw(std::move(payload));
}

void ClientStream::CloseSend() {
  if (std::exchange(send_closed_, true)) {
    return;
  }
  core_->loop()->Post([core = core_, state = state_] {
    core->SendData(state, "", kFlagRemoteClosed | kFlagNoData);
  });
}

absl::StatusOr<std::optional<std::string>> ClientStream::RecvRaw() {
  if (core_->loop()->InLoopThread()) {
    return absl::FailedPreconditionError("ttrpc: blocking Recv on the client's loop thread");
  }
  std::unique_lock lock(state_->mu);
  state_->cv.wait(lock, [&] { return !state_->inbox.empty() || state_->done; });
  if (!state_->inbox.empty()) {
    std::string payload = std::move(state_->inbox.front());
    state_->inbox.pop_front();
    return payload;
  }
  if (!state_->status.ok()) {
    return state_->status;
  }
  return std::nullopt;
}

absl::StatusOr<bool> ClientStream::Recv(google::protobuf::MessageLite* message) {
  ASSIGN_OR_RETURN(std::optional<std::string> payload, RecvRaw());
  if (!payload.has_value()) {
    return false;
  }
  if (!message->ParseFromString(*payload)) {
    return absl::InternalError("ttrpc: unmarshal stream message");
  }
  return true;
}

}  // namespace berth::ttrpc
