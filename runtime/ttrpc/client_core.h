#pragma once

// Internal to the client: the connection state on the loop thread, shared by Client and
// ClientStream.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "plugins/base/unique_fd.h"
#include "runtime/ttrpc/channel.h"
#include "runtime/ttrpc/event_loop.h"
#include "runtime/ttrpc/messages.h"

namespace berth::ttrpc {

// One stream's incoming side, filled on the loop thread and drained by ClientStream::Recv.
struct StreamState {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> inbox;  // Guarded by mu.
  bool done = false;              // Guarded by mu: nothing more will arrive.
  absl::Status status;            // Guarded by mu: the stream's end (OK = end of messages).
  uint32_t id = 0;                // Loop thread only.
  EventLoop::TimerId timer = 0;   // Loop thread only.

  void Push(std::string payload);
  void End(absl::Status end);
};

class ClientCore : public std::enable_shared_from_this<ClientCore> {
 public:
  using Callback = std::function<void(absl::StatusOr<std::string> payload)>;

  explicit ClientCore(EventLoop* loop) : loop_(loop) {}

  // Everything below runs on the loop thread.
  void Start(UniqueFd fd);
  void Send(Request request, absl::Duration timeout, Callback done);
  void OpenStream(Request request, uint8_t flags, absl::Duration timeout,
                  std::shared_ptr<StreamState> stream);
  void SendData(const std::shared_ptr<StreamState>& stream, const std::string& payload,
                uint8_t flags);
  // Stops tracking a stream its owner abandoned.
  void DropStream(const std::shared_ptr<StreamState>& stream);
  void Close(const absl::Status& reason);

  bool closed() const { return closed_; }  // Any thread.
  EventLoop* loop() const { return loop_; }

 private:
  struct Pending {
    Callback done;
    EventLoop::TimerId timer;
  };

  absl::Status ClosedError() const;
  uint32_t NextId();
  void OnFrame(Frame frame);
  void OnStreamFrame(const std::shared_ptr<StreamState>& stream, Frame frame);
  void EndStream(uint32_t id, absl::Status status);
  void Complete(uint32_t id, absl::StatusOr<std::string> result, bool cancel_timer = true);
  void OnClose(const absl::Status& reason);

  EventLoop* loop_;
  std::shared_ptr<Channel> channel_;
  uint32_t next_id_ = 1;
  std::map<uint32_t, Pending> pending_;
  std::map<uint32_t, std::shared_ptr<StreamState>> streams_;
  std::atomic<bool> closed_{false};
  absl::Status close_reason_;
};

}  // namespace berth::ttrpc
