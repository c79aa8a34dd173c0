#pragma once

// One client connection to berthd's socket: HTTP/2 (RFC 9113) served by berthd itself.
//
// Its own thread reads the socket, decodes every frame and keeps the streams. A stream whose
// method is a fast one (fast_method.h) is answered on that thread as soon as its request
// ends: read, handle, write, with no other thread involved. Every other stream becomes a
// ForwardedCall, a generic call to the gRPC server (front_server.h), which answers it on gRPC's
// threads; those write the answer to the socket themselves.
//
// Writes never block: bytes go to an output buffer and out through a non-blocking write;
// what the socket does not take is written by the connection's thread when the socket has
// room again (a thread that leaves bytes behind wakes it). The client's flow-control windows
// bound the DATA we queue, ours bound what it sends: stream credit is withheld while a
// forwarded message waits for the service to take it, so a slow service slows its client.
//
// Locking: mu_ guards the streams and the output buffer. A ForwardedCall's methods are never
// called with mu_ held (gRPC may run a reactor's callbacks inline, and those come back here),
// nor is a fast method's handler.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/status.h"
#include "plugins/base/http2/frames.h"
#include "plugins/base/http2/hpack.h"
#include "plugins/base/unique_fd.h"
#include "services/common/fast_method.h"
#include "services/front/call_counter.h"

namespace berth::front {

class ForwardedCall;

// Our receive windows and frame limit are http2::kStreamWindow, kConnectionWindow and
// kOurMaxFrame (plugins/base/http2/frames.h), as berthctl's client has them.
inline constexpr uint32_t kMaxStreams = 1000;
// Output the client leaves unread before it is dropped. Flow control bounds the DATA we queue
// by the client's own windows; this catches a client that floods us with PINGs and never reads.
inline constexpr size_t kMaxUnwritten = 256 << 20;
// Answer bytes are copied into the output buffer only this far ahead of the socket, so a 14 MB
// listing does not become a second 14 MB buffer.
inline constexpr size_t kOutputHighWater = 256 << 10;
// The read buffer's size; it grows to hold a whole frame (up to http2::kOurMaxFrame).
inline constexpr size_t kReadChunk = 64 << 10;

// What every connection of one front end shares.
struct ConnectionOptions {
  // Fast methods by path.
  const absl::flat_hash_map<std::string, services::FastHandler>* fast = nullptr;
  grpc::GenericStub* stub = nullptr;  // to the gRPC server
  CallCounter* forwarded = nullptr;   // ForwardedCalls alive, so the stop can wait for them
  CallCounter* calls = nullptr;       // fast calls in progress (the interceptor counts the rest)
  size_t max_recv_message_size = 16 << 20;
  size_t max_send_message_size = 16 << 20;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(UniqueFd fd, const ConnectionOptions& options);
  ~Connection();

  // Serves until the client leaves, breaks the protocol, or Close(); then cancels the calls
  // still forwarded. Runs on the connection's own thread.
  void Serve();
  // Any thread: Serve() returns soon after, telling the client with GOAWAY.
  void Close();

  // --- for ForwardedCall (any thread, mu_ not held)
  // Sends the answer's headers with the service's initial metadata (unless a message or the
  // end already sent them): a client may wait for them before its first message, as a
  // subscriber does to know it is subscribed.
  void SendHeaders(uint32_t id, const std::vector<http2::Header>& metadata);
  // Queues one answer message. False if flow control holds some of it back: the call must not
  // read another until ResumeRead() is called on it.
  bool SendMessage(uint32_t id, const grpc::ByteBuffer& message);
  // Ends the stream with the call's status and trailing metadata, after what is queued.
  void Finish(uint32_t id, const grpc::Status& status, std::vector<http2::Header> trailing);
  // The call passed one request message on to the service: the stream may have credit back.
  void MessageTaken(uint32_t id);
  // The call is over: the stream lets go of it.
  void CallDone(uint32_t id);

 private:
  struct Stream {
    // Request
    const services::FastHandler* fast = nullptr;  // else forwarded to `call`
    std::shared_ptr<ForwardedCall> call;
    std::vector<http2::Header> headers;  // fast: the request's, for the handler
    std::string path;                    // fast: for the debug log
    std::string in;                      // request bytes not yet a whole message
    std::string message;                 // fast: the request's one message
    int messages = 0;                    // fast: how many the request had
    bool remote_closed = false;
    int waiting = 0;       // forwarded messages the service has not taken yet
    int64_t unacked = 0;   // received bytes not yet given back as stream credit
    // Answer
    bool headers_sent = false;
    int64_t send_window = 0;
    std::deque<std::string> out;  // answer bytes (gRPC-framed) not yet in DATA frames
    size_t out_pos = 0;           // in out.front()
    bool ending = false;   // `trailers` go out once `out` is sent
    std::string trailers;  // an HPACK block
    bool read_paused = false;  // the call waits for `out` to drain
  };
  // What the reading thread does to calls once mu_ is released.
  struct CallAction {
    enum Kind { kStart, kWrite, kCloseWrites, kResumeRead, kCancel } kind;
    std::shared_ptr<ForwardedCall> call;
    grpc::ByteBuffer message;  // kWrite
  };

  // --- reading (connection thread; connection_reader.cc)
  absl::Status ReadPreface();
  bool ReadSome();  // false once the client has gone
  absl::Status ReadFrames();  // every whole frame in in_; needs mu_
  absl::Status OnFrame(const http2::FrameHeader& header, std::string_view payload);
  absl::Status OnHeaders(const http2::FrameHeader& header, std::string_view payload);
  absl::Status OnContinuation(const http2::FrameHeader& header, std::string_view payload);
  absl::Status OnHeaderBlock(uint32_t id, bool end_stream);
  absl::Status OpenStream(uint32_t id, std::vector<http2::Header> headers, bool end_stream);
  absl::Status OnData(const http2::FrameHeader& header, std::string_view payload);
  absl::Status OnRstStream(uint32_t id, std::string_view payload);
  absl::Status OnSettings(uint8_t flags, std::string_view payload);
  absl::Status OnWindowUpdate(uint32_t id, std::string_view payload);
  // Cuts whole request messages off the stream's bytes; `end` if the client half-closed.
  void TakeMessages(uint32_t id, Stream& stream, bool end);
  // Answers the fast streams whose requests ended (mu_ not held).
  void AnswerFastCalls();
  void RunCallActions();

  // --- answering (mu_ held)
  void SendHeadersIfNeeded(uint32_t id, Stream& stream);
  // Queues DATA frames of the stream's answer as far as the windows and the output buffer's
  // high-water mark allow, then its trailers once every byte is out. False if bytes remain.
  // May erase the stream.
  bool Pump(uint32_t id, Stream& stream);
  // Pumps every stream (a window grew, or the socket took what was queued); serving thread
  // only. True if it queued anything.
  bool PumpAll();
  // Writes, and pumps more while the socket takes it all.
  void FlushAndRefill();
  void EndStream(uint32_t id, Stream& stream, const grpc::Status& status,
                 const std::vector<http2::Header>& trailing);
  void Reset(uint32_t id, uint32_t code);
  void Credit(uint32_t id, Stream& stream);
  // The connection is done with the stream's call (reset, failed, or the connection ends):
  // cancel it and let a read paused by flow control go on, so it can finish.
  void AbandonCall(Stream& stream);
  void QueueFrame(uint8_t type, uint8_t flags, uint32_t id, std::string_view payload);
  // Writes what the output buffer holds as far as the socket takes it.
  void Flush();
  void WakeServingThread();
  void Fail(const absl::Status& why, uint32_t code);

  UniqueFd fd_;
  UniqueFd wake_;  // eventfd: another thread left output behind
  ConnectionOptions options_;
  std::thread::id serving_thread_;

  absl::Mutex mu_;
  std::map<uint32_t, Stream> streams_;
  std::string out_;                            // bytes not written yet, from out_pos_
  size_t out_pos_ = 0;
  bool closed_ = false;  // no more writes; calls being cancelled
  bool going_away_ = false;
  uint32_t last_stream_ = 0;
  int64_t send_window_ = http2::kDefaultWindow;  // the client's connection window for us
  int64_t peer_initial_window_ = http2::kDefaultWindow;
  uint32_t peer_max_frame_ = http2::kDefaultMaxFrameSize;
  int64_t conn_unacked_ = 0;
  bool refill_ = false;  // a Pump stopped at the output high-water mark

  // Connection thread only.
  http2::HpackDecoder decoder_;
  std::string block_;  // a header block split over CONTINUATION frames
  uint32_t block_stream_ = 0;
  bool block_end_stream_ = false;
  std::string in_;
  size_t in_pos_ = 0;
  size_t in_end_ = 0;
  std::vector<CallAction> actions_;
  std::vector<uint32_t> fast_ready_;  // fast streams whose request is complete
};

}  // namespace berth::front
