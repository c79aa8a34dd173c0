#pragma once

// Internal to the server: the state a ServerCall shares with its connection, and the
// connection itself. Loop thread only unless noted.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "plugins/base/unique_fd.h"
#include "runtime/ttrpc/channel.h"
#include "runtime/ttrpc/event_loop.h"
#include "runtime/ttrpc/messages.h"

namespace berth::ttrpc {

class Server;
class ServerConnection;

// Shared by a ServerCall (wherever the handler keeps it) and its connection (on the loop).
struct CallState {
  EventLoop* loop = nullptr;
  std::weak_ptr<ServerConnection> connection;
  uint32_t stream_id = 0;
  std::atomic<bool> finished{false};
  std::atomic<bool> sent_data{false};  // Server streaming: SendMessage was used.
  // Loop thread only from here on.
  EventLoop::TimerId timer = 0;
  std::function<void()> on_cancel;
  // Streams: the client's data messages and whether it has closed its side.
  std::deque<std::string> inbox;
  bool remote_closed = false;
  std::function<void(std::string)> on_message;
  std::function<void()> on_closed;
};

class ServerConnection {
 public:
  explicit ServerConnection(Server* server) : server_(server) {}

  absl::Status Start(UniqueFd fd);
  void SendResponse(uint32_t stream_id, const Response& response);
  void SendData(uint32_t stream_id, const std::string& payload, uint8_t flags = 0);
  void Track(const std::shared_ptr<CallState>& state) { active_[state->stream_id] = state; }
  void Untrack(uint32_t stream_id) { active_.erase(stream_id); }
  void Close() { channel_->Close(absl::CancelledError("ttrpc: server shut down")); }

 private:
  void OnFrame(Frame frame);
  // A data message on a stream the client opened with kFlagRemoteOpen.
  void OnData(Frame frame);
  void OnClose();

  Server* server_;
  std::shared_ptr<Channel> channel_;
  std::map<uint32_t, std::shared_ptr<CallState>> active_;
};

// Loop thread: sends the reply of a call that has just been marked finished.
void DeliverReply(const std::shared_ptr<CallState>& state, Response response);

}  // namespace berth::ttrpc
