#include "runtime/ttrpc/server_internal.h"

#include <google/protobuf/message_lite.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/ttrpc/frame.h"
#include "runtime/ttrpc/server.h"

namespace berth::ttrpc {

void DeliverReply(const std::shared_ptr<CallState>& state, Response response) {
  state->loop->CancelTimer(state->timer);
  state->on_cancel = nullptr;
  state->on_message = nullptr;
  state->on_closed = nullptr;
  if (std::shared_ptr<ServerConnection> connection = state->connection.lock()) {
    connection->Untrack(state->stream_id);
    if (state->sent_data && response.status.ok() && response.payload.empty()) {
      // A server stream ends OK with a closing data frame, as Go ttrpc 1.2 does.
      connection->SendData(state->stream_id, "", kFlagRemoteClosed | kFlagNoData);
    } else {
      connection->SendResponse(state->stream_id, response);
    }
  }
}

ServerCall::ServerCall(Request request, uint8_t flags, absl::Time deadline,
                       std::shared_ptr<CallState> state)
    : request_(std::move(request)), flags_(flags), deadline_(deadline), state_(std::move(state)) {}

ServerCall::ServerCall(ServerCall&&) noexcept = default;

ServerCall& ServerCall::operator=(ServerCall&& other) noexcept {
  if (this != &other) {
    if (state_ && !finished()) {
      Fail(absl::InternalError("ttrpc: handler dropped the call"));
    }
    request_ = std::move(other.request_);
    flags_ = other.flags_;
    deadline_ = other.deadline_;
    state_ = std::move(other.state_);
  }
  return *this;
}

ServerCall::~ServerCall() {
  if (state_ && !finished()) {
    Fail(absl::InternalError("ttrpc: handler dropped the call"));
  }
}

absl::Status ServerCall::ParseRequest(google::protobuf::MessageLite* request) const {
  if (!request->ParseFromString(request_.payload)) {
    return absl::InvalidArgumentError(
        absl::StrCat("ttrpc: error unmarshalling payload of ", request_.method));
  }
  return absl::OkStatus();
}

void ServerCall::Reply(const google::protobuf::MessageLite& response) {
  std::string payload;
  if (!response.SerializeToString(&payload)) {
    Finish(absl::InternalError("ttrpc: error marshaling payload"));
    return;
  }
  Finish(absl::OkStatus(), std::move(payload));
}

void ServerCall::Finish(const absl::Status& status, std::string payload) {
  if (!state_ || state_->finished.exchange(true)) {
    return;
  }
  Response response{status, status.ok() ? std::move(payload) : std::string()};
  if (state_->loop->InLoopThread()) {
    DeliverReply(state_, std::move(response));
  } else {
    state_->loop->Post([state = state_, response = std::move(response)]() mutable {
      DeliverReply(state, response);
    });
  }
}

absl::Status ServerCall::SendMessage(std::string payload) {
  if (!streaming()) {
    return absl::FailedPreconditionError("ttrpc: SendMessage on a unary call");
  }
  if (finished()) {
    return absl::FailedPreconditionError("ttrpc: SendMessage after the call finished");
  }
  if (payload.size() > kMaxMessageSize) {
    return OversizedError(payload.size());
  }
  state_->sent_data = true;
  // Posted before any later Finish() from the same thread, so data precedes the response.
  auto send = [state = state_, payload = std::move(payload)] {
    if (std::shared_ptr<ServerConnection> connection = state->connection.lock()) {
      connection->SendData(state->stream_id, payload);
    }
  };
  if (state_->loop->InLoopThread()) {
    send();
  } else {
    state_->loop->Post(std::move(send));
  }
  return absl::OkStatus();
}

void ServerCall::OnMessage(std::function<void(std::string payload)> on_message,
                           std::function<void()> on_closed) {
  if (!state_ || finished()) {
    return;
  }
  while (!state_->inbox.empty() && !finished()) {
    std::string payload = std::move(state_->inbox.front());
    state_->inbox.pop_front();
    on_message(std::move(payload));
  }
  if (finished()) {
    return;  // Replied from on_message: keep no callbacks (they may own this call).
  }
  if (state_->remote_closed) {
    if (on_closed) on_closed();  // Nothing more will arrive: keep no callbacks.
    return;
  }
  state_->on_message = std::move(on_message);
  state_->on_closed = std::move(on_closed);
}

bool ServerCall::finished() const { return !state_ || state_->finished.load(); }

void ServerCall::OnCancel(std::function<void()> fn) {
  if (state_ && !finished()) {
    state_->on_cancel = std::move(fn);
  }
}

}  // namespace berth::ttrpc
