#pragma once

// One HTTP/2 client connection over a unix socket (RFC 9113), the transport under berthctl's
// gRPC calls (ctl/rpc/call.h). berthctl starts once per command, so this is built to cost
// little at start: one socket, one reader thread, no resolver, no event engine.
//
// The reader thread owns the socket's read side: it decodes every frame, answers SETTINGS and
// PING, applies WINDOW_UPDATE and hands each stream its headers, data and end. Any thread may
// open streams and send on them. Flow control: the peer's windows bound what Send puts on the
// wire (it waits for credit); ours bound what the peer may send before the application has
// taken it (Take returns the stream's credit).
//
// Errors: a connection that fails (socket error, protocol error, GOAWAY) fails every stream it
// affects with Unavailable (Internal for a protocol violation by the peer); a stream the peer
// resets fails with Cancelled, Unavailable (refused) or Internal.

#include <sys/types.h>
#include <sys/uio.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "plugins/base/http2/frames.h"
#include "plugins/base/http2/hpack.h"
#include "plugins/base/unique_fd.h"

namespace berth::http2 {

using Clock = std::chrono::steady_clock;

using Deadline = std::optional<Clock::time_point>;

// What one stream has received. Read under the connection's lock (Connection::Wait).
struct StreamState {
  std::vector<Header> headers;   // the response headers (the first HEADERS)
  std::vector<Header> trailers;  // the second HEADERS, if any
  bool got_headers = false;
  std::string data;              // DATA bytes not taken yet
  bool remote_closed = false;    // the peer sent END_STREAM
  absl::Status error;            // reset by the peer, by us, or the connection failed
  bool local_closed = false;     // we sent END_STREAM or RST_STREAM
  int64_t send_window = 0;
  int64_t unacked = 0;           // taken bytes not yet returned to the peer as credit
};

// A blocking unix-socket connection to `socket_path` (reads and writes sleep in the kernel).
absl::StatusOr<UniqueFd> ConnectBlocking(const std::string& socket_path);

class Connection {
 public:
  // Connects to `socket_path` and sends the preface and our settings.
  static absl::StatusOr<std::unique_ptr<Connection>> Dial(const std::string& socket_path);
  ~Connection();  // shuts the socket down and joins the reader
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Opens a stream with these request headers and, in the same write, what of `data` fits the
  // peer's windows (a unary call costs the daemon one wake-up, not two). `data` is left
  // holding what did not fit, for Send; END_STREAM goes out with the last of it.
  absl::StatusOr<uint32_t> Open(const std::vector<Header>& headers, std::string_view& data,
                                bool end_stream);
  // Sends `data` as DATA frames, waiting for flow-control credit until `deadline`; END_STREAM
  // on the last frame if `end_stream` (an empty `data` sends just the END_STREAM).
  absl::Status Send(uint32_t id, std::string_view data, bool end_stream, Deadline deadline);
  // Waits until `ready(state)` holds for the stream, or the deadline passes (false).
  template <class Ready>
  bool Wait(uint32_t id, Deadline deadline, Ready ready);
  // Moves the stream's received DATA bytes into `out` and gives the peer the credit back.
  void Take(uint32_t id, std::string& out);
  // A copy of what the stream holds besides its data (headers, trailers, end, error).
  StreamState Snapshot(uint32_t id);
  // Resets the stream (RST_STREAM with `code`) unless it already ended; `why` becomes its error.
  void Reset(uint32_t id, uint32_t code, const absl::Status& why);
  // Forgets the stream: resets it first if it is still open on either side.
  void Close(uint32_t id);

 private:
  explicit Connection(UniqueFd fd);

  // --- reader thread (connection_reader.cc)
  void ReadLoop();
  absl::Status ReadFrame();
  absl::Status OnData(uint32_t id, uint8_t flags, std::string_view payload);
  absl::Status OnHeaders(uint32_t id, uint8_t flags, std::string_view payload);
  absl::Status OnHeaderBlock(uint32_t id, bool end_stream, std::string_view block);
  absl::Status OnRstStream(uint32_t id, std::string_view payload);
  absl::Status OnSettings(uint8_t flags, std::string_view payload);
  absl::Status OnPing(uint8_t flags, std::string_view payload);
  absl::Status OnGoaway(std::string_view payload);
  absl::Status OnWindowUpdate(uint32_t id, std::string_view payload);
  // Ends one stream for the daemon's protocol error (mu_ held); the connection goes on.
  void StreamError(StreamState& state, std::string_view what);
  void FailAll(const absl::Status& why);

  // --- writing (any thread). Lock order: write_mu_ before mu_ (Open); nothing waits for
  // write_mu_ while holding mu_, so the reader is never held up by a blocked write.
  // DATA frames ready for one writev: each frame's header, and iov over headers and payloads.
  struct DataFrames {
    std::vector<std::array<char, kFrameHeaderSize>> headers;
    std::vector<iovec> iov;
  };
  // Many frames per writev: a 16 KiB peer frame limit must not mean a syscall per 16 KiB.
  static constexpr size_t kMaxFramesPerWrite = 256;
  // Frames what of `data` the peer's windows allow (at least one frame, at most
  // kMaxFramesPerWrite) into `out` without copying it, charges both windows (mu_ held) and
  // returns the rest. END_STREAM goes on the frame that ends `data` if `end_stream`.
  std::string_view FrameData(StreamState& state, uint32_t id, std::string_view data,
                             bool end_stream, DataFrames& out);
  // RST_STREAM or WINDOW_UPDATE: a frame whose payload is one 32-bit value.
  void SendControl(uint8_t type, uint32_t id, uint32_t value);
  void SendWindowUpdate(uint32_t id, int64_t increment);
  absl::Status Write(const std::string& bytes);
  absl::Status WriteVec(std::vector<iovec> iov);
  absl::Status WriteVecLocked(std::vector<iovec> iov);  // write_mu_ held

  UniqueFd fd_;
  std::thread reader_;
  std::mutex write_mu_;  // whole frames go out one at a time

  std::mutex mu_;  // guards everything below
  std::condition_variable changed_;
  std::map<uint32_t, StreamState> streams_;
  uint32_t next_id_ = 1;
  absl::Status failed_;           // set once the connection cannot carry new streams
  uint32_t goaway_last_id_ = 0x7fffffff;
  int64_t send_window_ = kDefaultWindow;  // the peer's connection window for us
  int64_t peer_initial_window_ = kDefaultWindow;
  uint32_t peer_max_frame_ = kDefaultMaxFrameSize;
  int64_t conn_unacked_ = 0;      // received bytes not yet returned as connection credit

  // Only the reader thread touches these.
  HpackDecoder decoder_;
  std::string block_;             // a header block split over CONTINUATION frames
  uint32_t block_stream_ = 0;
  bool block_end_stream_ = false;
  std::string in_;                // read buffer: [in_pos_, in_end_) not parsed yet
  size_t in_pos_ = 0;
  size_t in_end_ = 0;
};

template <class Ready>
bool Connection::Wait(uint32_t id, Deadline deadline, Ready ready) {
  std::unique_lock<std::mutex> lock(mu_);
  auto done = [&] {
    auto it = streams_.find(id);
    return it == streams_.end() || ready(it->second);
  };
  if (!deadline.has_value()) {
    changed_.wait(lock, done);
    return true;
  }
  return changed_.wait_until(lock, *deadline, done);
}

}  // namespace berth::http2
