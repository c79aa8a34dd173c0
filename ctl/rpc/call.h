#pragma once

// gRPC calls over ctl/rpc/connection.h (the gRPC-over-HTTP/2 protocol: length-prefixed
// messages, grpc-status and grpc-message in the trailers, grpc-timeout for deadlines). One
// Call class serves every kind: unary, server streaming, client streaming and bidirectional.
// As with gRPC's own stubs, Write and Read answer false once the call is over and Finish says
// why; a Call destroyed before its end cancels it.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "ctl/rpc/connection.h"
#include "google/protobuf/message_lite.h"

namespace berth::ctl::rpc {

// The largest message either side may send (berthd's limit too).
inline constexpr size_t kMaxMessageSize = 16 << 20;

// A method of a service: its path and, for the compiler, its request and response types.
template <class Request, class Response>
struct Method {
  std::string_view path;  // "/containerd.services.tasks.v1.Tasks/Create"
};

struct CallOptions {
  std::vector<http2::Header> metadata;  // e.g. {"containerd-namespace", "default"}
  http2::Deadline deadline;             // none: the call may take as long as it takes
};

class Call {
 public:
  // Starts a call of `path`; a null `connection` (one that could not be dialled) makes a call
  // that has already failed with `dial_error`.
  Call(http2::Connection* connection, const absl::Status& dial_error, std::string_view path,
       const CallOptions& options);
  ~Call();
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  // Sends one message. `last` also ends the request stream (as WritesDone).
  bool Write(const google::protobuf::MessageLite& message, bool last = false);
  // Ends the request stream.
  bool WritesDone();
  // The next response message; false at the end of the responses or when the call failed.
  bool Read(google::protobuf::MessageLite* message);
  // Waits for the end of the call and returns its status (OK, the daemon's error, or the
  // transport's: Unavailable, DeadlineExceeded, Cancelled, Internal).
  absl::Status Finish();
  // Cancels the call from any thread: a blocked Read or Write returns false.
  void Cancel();
  // The end of a unary call whose request went out with Write(request, /*last=*/true): reads
  // the one response and finishes. A call can be sent early and received later this way
  // (berthctl sends Tasks.Wait before Tasks.Start); otherwise see Unary below.
  absl::Status Receive(google::protobuf::MessageLite* response);

 private:
  // Opens the stream with the first bytes, or sends more on it.
  bool Send(std::string_view data, bool last);
  // The stream's id, opening it (headers only) if nothing was written yet; 0 if that failed.
  uint32_t Started();
  bool Finished();
  // Ends the call with `status` (the first end wins) and resets the stream.
  bool Fail(const absl::Status& status);
  absl::Status StatusFromTrailers(const http2::StreamState& state) const;

  http2::Connection* connection_;
  std::vector<http2::Header> headers_;  // sent with the first bytes
  http2::Deadline deadline_;
  // Read and Write may run on two threads (a bidirectional stream), Cancel on a third.
  std::mutex mu_;  // held while opening the stream
  std::atomic<uint32_t> id_{0};
  std::atomic<bool> cancelled_{false};
  std::mutex status_mu_;
  absl::Status status_;  // the call's end, once known
  bool finished_ = false;
  // Only the reading thread touches these.
  std::string in_;       // response bytes taken from the stream, not yet a whole message
  size_t in_pos_ = 0;
};

// A unary call: one request, one response.
absl::Status Unary(http2::Connection* connection, const absl::Status& dial_error,
                   std::string_view path, const CallOptions& options,
                   const google::protobuf::MessageLite& request,
                   google::protobuf::MessageLite* response);

// grpc-timeout's value for what is left until `deadline` ("30000m"), at most 8 digits.
std::string TimeoutHeader(http2::Clock::time_point deadline, http2::Clock::time_point now);
// grpc-message is percent-encoded (gRPC's PROTOCOL-HTTP2.md); this undoes it.
std::string PercentDecode(std::string_view text);

}  // namespace berth::ctl::rpc
