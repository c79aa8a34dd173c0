#include "runtime/ttrpc/client_core.h"

#include "absl/strings/str_cat.h"

namespace berth::ttrpc {

void StreamState::Push(std::string payload) {
  std::lock_guard lock(mu);
  if (!done) {
    inbox.push_back(std::move(payload));
    cv.notify_all();
  }
}

void StreamState::End(absl::Status end) {
  std::lock_guard lock(mu);
  if (!done) {
    done = true;
    status = std::move(end);
    cv.notify_all();
  }
}

void ClientCore::Start(UniqueFd fd) {
  if (closed_) {
    return;  // Closed before the loop got here.
  }
  Channel::Handlers handlers;
  std::weak_ptr<ClientCore> weak = weak_from_this();
  handlers.on_frame = [weak](Frame frame) {
    if (auto self = weak.lock()) self->OnFrame(std::move(frame));
  };
  handlers.on_oversized = [weak](const FrameHeader& header, const absl::Status& error) {
    if (auto self = weak.lock()) {
      self->Complete(header.stream_id, error);
      self->EndStream(header.stream_id, error);
    }
  };
  handlers.on_close = [weak](const absl::Status& reason) {
    if (auto self = weak.lock()) self->OnClose(reason);
  };
  absl::StatusOr<std::shared_ptr<Channel>> channel =
      Channel::Create(loop_, std::move(fd), std::move(handlers));
  if (!channel.ok()) {
    OnClose(channel.status());
    return;
  }
  channel_ = *std::move(channel);
}

absl::Status ClientCore::ClosedError() const {
  return absl::UnavailableError(absl::StrCat("ttrpc: closed: ", close_reason_.message()));
}

uint32_t ClientCore::NextId() {
  uint32_t id = next_id_;
  next_id_ += 2;  // Client-initiated streams are odd.
  return id;
}

void ClientCore::Send(Request request, absl::Duration timeout, Callback done) {
  if (closed_ || !channel_) {
    done(ClosedError());
    return;
  }
  uint32_t id = NextId();
  if (timeout != absl::InfiniteDuration()) {
    request.timeout_nano = absl::ToInt64Nanoseconds(timeout);
  }
  absl::Status sent = channel_->Send(id, MessageType::kRequest, 0, EncodeRequest(request));
  if (!sent.ok()) {
    done(sent);
    return;
  }
  Pending pending{std::move(done), 0};
  if (timeout != absl::InfiniteDuration()) {
    std::weak_ptr<ClientCore> weak = weak_from_this();
    pending.timer = loop_->AddTimer(timeout, [weak, id] {
      if (auto self = weak.lock()) {
        self->Complete(id, absl::DeadlineExceededError("context deadline exceeded"), false);
      }
    });
  }
  pending_.emplace(id, std::move(pending));
}

void ClientCore::OpenStream(Request request, uint8_t flags, absl::Duration timeout,
                            std::shared_ptr<StreamState> stream) {
  if (closed_ || !channel_) {
    stream->End(ClosedError());
    return;
  }
  stream->id = NextId();
  if (timeout != absl::InfiniteDuration()) {
    request.timeout_nano = absl::ToInt64Nanoseconds(timeout);
  }
  absl::Status sent =
      channel_->Send(stream->id, MessageType::kRequest, flags, EncodeRequest(request));
  if (!sent.ok()) {
    stream->End(sent);
    return;
  }
  if (timeout != absl::InfiniteDuration()) {
    std::weak_ptr<ClientCore> weak = weak_from_this();
    stream->timer = loop_->AddTimer(timeout, [weak, id = stream->id] {
      if (auto self = weak.lock()) {
        self->EndStream(id, absl::DeadlineExceededError("context deadline exceeded"));
      }
    });
  }
  streams_.emplace(stream->id, std::move(stream));
}

void ClientCore::SendData(const std::shared_ptr<StreamState>& stream, const std::string& payload,
                          uint8_t flags) {
  if (closed_ || !channel_ || !streams_.contains(stream->id)) {
    return;  // The stream has ended; Recv reports how.
  }
  absl::Status sent = channel_->Send(stream->id, MessageType::kData, flags, payload);
  if (!sent.ok()) {
    EndStream(stream->id, sent);
  }
}

void ClientCore::DropStream(const std::shared_ptr<StreamState>& stream) {
  auto it = streams_.find(stream->id);
  if (it != streams_.end() && it->second == stream) {
    loop_->CancelTimer(stream->timer);
    streams_.erase(it);
  }
}

void ClientCore::Close(const absl::Status& reason) {
  if (channel_) {
    channel_->Close(reason);  // Calls OnClose.
  } else {
    OnClose(reason);
  }
}

void ClientCore::OnFrame(Frame frame) {
  if (auto it = streams_.find(frame.header.stream_id); it != streams_.end()) {
    OnStreamFrame(it->second, std::move(frame));
    return;
  }
  if (frame.header.type != MessageType::kResponse) {
    return;
  }
  absl::StatusOr<Response> response = DecodeResponse(frame.payload);
  if (!response.ok()) {
    Complete(frame.header.stream_id, response.status());
  } else if (!response->status.ok()) {
    Complete(frame.header.stream_id, std::move(response->status));
  } else {
    Complete(frame.header.stream_id, std::move(response->payload));
  }
}

void ClientCore::OnStreamFrame(const std::shared_ptr<StreamState>& stream, Frame frame) {
  uint32_t id = frame.header.stream_id;
  if (frame.header.type == MessageType::kData) {
    if (!(frame.header.flags & kFlagNoData)) {
      stream->Push(std::move(frame.payload));
    }
    if (frame.header.flags & kFlagRemoteClosed) {
      EndStream(id, absl::OkStatus());
    }
  } else if (frame.header.type == MessageType::kResponse) {
    // The final message: a status, possibly with one last payload.
    absl::StatusOr<Response> response = DecodeResponse(frame.payload);
    if (!response.ok()) {
      EndStream(id, response.status());
      return;
    }
    if (response->status.ok() && !response->payload.empty()) {
      stream->Push(std::move(response->payload));
    }
    EndStream(id, std::move(response->status));
  }
}

void ClientCore::EndStream(uint32_t id, absl::Status status) {
  auto it = streams_.find(id);
  if (it == streams_.end()) {
    return;
  }
  std::shared_ptr<StreamState> stream = std::move(it->second);
  streams_.erase(it);
  loop_->CancelTimer(stream->timer);
  stream->End(std::move(status));
}

void ClientCore::Complete(uint32_t id, absl::StatusOr<std::string> result, bool cancel_timer) {
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    return;  // Unknown, or a late response after a timeout: dropped.
  }
  Pending pending = std::move(it->second);
  pending_.erase(it);
  if (cancel_timer) {
    loop_->CancelTimer(pending.timer);
  }
  pending.done(std::move(result));
}

void ClientCore::OnClose(const absl::Status& reason) {
  if (closed_.exchange(true)) {
    return;
  }
  close_reason_ = reason;
  absl::Status error = absl::IsCancelled(reason) ? reason : ClosedError();
  std::map<uint32_t, Pending> pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, call] : pending) {
    loop_->CancelTimer(call.timer);
    call.done(error);
  }
  std::map<uint32_t, std::shared_ptr<StreamState>> streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, stream] : streams) {
    loop_->CancelTimer(stream->timer);
    stream->End(error);
  }
}

}  // namespace berth::ttrpc
