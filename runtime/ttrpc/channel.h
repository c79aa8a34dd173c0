#pragma once

// Channel: one framed, non-blocking stream socket on an EventLoop. Reads frames and hands them
// to on_frame; queues outgoing frames and writes them as the socket allows. Shared by the
// server's connections and the client. Loop thread only.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "plugins/base/unique_fd.h"
#include "runtime/ttrpc/event_loop.h"
#include "runtime/ttrpc/frame.h"

namespace berth::ttrpc {

class Channel : public std::enable_shared_from_this<Channel> {
 public:
  struct Handlers {
    std::function<void(Frame frame)> on_frame;
    // The next incoming frame is over kMaxMessageSize. Called once; the channel then stops
    // reading and closes after flushing whatever on_oversized sent.
    std::function<void(const FrameHeader& header, const absl::Status& error)> on_oversized;
    // Called once when the channel closes: peer hang-up, I/O error, or Close().
    std::function<void(const absl::Status& reason)> on_close;
  };

  // Takes a connected, non-blocking socket and starts reading it.
  static absl::StatusOr<std::shared_ptr<Channel>> Create(EventLoop* loop, UniqueFd fd,
                                                         Handlers handlers);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Queues one frame. ResourceExhausted (nothing sent) if the payload is too large;
  // Unavailable if the channel is closed.
  absl::Status Send(uint32_t stream_id, MessageType type, uint8_t flags, absl::string_view payload);
  // Closes now; queued output is dropped.
  void Close(const absl::Status& reason);
  // Stops reading, closes once the queued output is written.
  void CloseAfterFlush(const absl::Status& reason);

  bool closed() const { return closed_; }
  int fd() const { return fd_.get(); }
  EventLoop* loop() const { return loop_; }

 private:
  Channel(EventLoop* loop, UniqueFd fd, Handlers handlers);
  void OnEvents(uint32_t events);
  void ReadAvailable();
  void DeliverFrames();
  void Flush();
  void UpdateInterest();

  EventLoop* loop_;
  UniqueFd fd_;
  Handlers handlers_;
  FrameReader reader_;
  std::string out_;
  size_t out_offset_ = 0;
  bool reading_ = true;
  bool want_write_ = false;
  bool closed_ = false;
  bool close_after_flush_ = false;
  absl::Status close_reason_;
};

}  // namespace berth::ttrpc
