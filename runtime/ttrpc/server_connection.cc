#include "runtime/ttrpc/server_internal.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "runtime/ttrpc/server.h"

namespace berth::ttrpc {

absl::Status ServerConnection::Start(UniqueFd fd) {
  Channel::Handlers handlers;
  handlers.on_frame = [this](Frame frame) { OnFrame(std::move(frame)); };
  handlers.on_oversized = [this](const FrameHeader& header, const absl::Status& error) {
    // Tell the client which call failed before the connection goes away.
    SendResponse(header.stream_id, Response{error, {}});
  };
  handlers.on_close = [this](const absl::Status&) { OnClose(); };
  ASSIGN_OR_RETURN(channel_, Channel::Create(server_->loop(), std::move(fd), std::move(handlers)));
  return absl::OkStatus();
}

void ServerConnection::SendResponse(uint32_t stream_id, const Response& response) {
  absl::Status status =
      channel_->Send(stream_id, MessageType::kResponse, 0, EncodeResponse(response));
  if (absl::IsResourceExhausted(status)) {
    // The reply itself is too large: report that instead.
    status =
        channel_->Send(stream_id, MessageType::kResponse, 0, EncodeResponse(Response{status, {}}));
  }
  if (!status.ok() && !channel_->closed()) {
    BERTH_LOG(WARN) << "ttrpc: send response: " << status;
  }
}

void ServerConnection::SendData(uint32_t stream_id, const std::string& payload, uint8_t flags) {
  absl::Status status = channel_->Send(stream_id, MessageType::kData, flags, payload);
  if (!status.ok() && !channel_->closed()) {
    BERTH_LOG(WARN) << "ttrpc: send data: " << status;
  }
}

void ServerConnection::OnFrame(Frame frame) {
  if (frame.header.type == MessageType::kData) {
    OnData(std::move(frame));
    return;
  }
  if (frame.header.type != MessageType::kRequest) {
    return;  // Ignored for forward compatibility, as Go ttrpc does.
  }
  absl::StatusOr<Request> request = DecodeRequest(frame.payload);
  if (!request.ok()) {
    SendResponse(frame.header.stream_id,
                 Response{absl::InvalidArgumentError(absl::StrCat("unmarshal request error: ",
                                                                  request.status().message())),
                          {}});
    return;
  }
  absl::Status invalid;
  if (frame.header.stream_id % 2 != 1) {
    invalid = absl::InvalidArgumentError("StreamID must be odd for client initiated streams");
  } else if (active_.contains(frame.header.stream_id)) {
    invalid = absl::InvalidArgumentError("StreamID cannot be re-used while in use");
  }
  if (!invalid.ok()) {
    SendResponse(frame.header.stream_id, Response{invalid, {}});
    return;
  }
  server_->Dispatch(this, frame.header.stream_id, frame.header.flags, *std::move(request));
}

void ServerConnection::OnData(Frame frame) {
  auto it = active_.find(frame.header.stream_id);
  if (it == active_.end() || it->second->remote_closed) {
    return;  // Finished, unknown or closed by the client: nothing to deliver to.
  }
  std::shared_ptr<CallState> state = it->second;
  if (!(frame.header.flags & kFlagNoData)) {
    if (state->on_message) {
      auto on_message = state->on_message;  // A copy: a reply inside clears the original.
      on_message(std::move(frame.payload));
    } else {
      state->inbox.push_back(std::move(frame.payload));
    }
  }
  if (frame.header.flags & kFlagRemoteClosed) {
    state->remote_closed = true;
    if (auto on_closed = std::move(state->on_closed)) on_closed();
  }
}

void ServerConnection::OnClose() {
  auto active = std::move(active_);
  active_.clear();
  for (auto& [id, state] : active) {
    if (!state->finished.exchange(true)) {
      state->loop->CancelTimer(state->timer);
      // Drop the stream callbacks: they often own the ServerCall (a cycle through state).
      state->on_message = nullptr;
      state->on_closed = nullptr;
      if (auto on_cancel = std::move(state->on_cancel)) {
        on_cancel();
      }
    }
  }
  server_->RemoveConnection(this);  // May destroy *this.
}

}  // namespace berth::ttrpc
