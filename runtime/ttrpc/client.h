#pragma once

// ttrpc client: unary calls multiplexed on one unix-socket connection. Calls may come from any
// number of threads; the I/O runs on an EventLoop, either one the client owns (on a thread of
// its own) or a caller's (berthd: one loop for every shim; the shim: its main loop, with
// CallAsync only).
//
//   ASSIGN_OR_RETURN(auto client, Client::Connect("unix:///run/containerd/s/abc"));
//   ConnectResponse response;
//   RETURN_IF_ERROR(client->Call("containerd.task.v2.Task", "Connect", request, &response,
//                                {.metadata = Metadata::WithNamespace("default"),
//                                 .timeout = absl::Seconds(5)}));
//
// Errors: the server's google.rpc.Status as an absl::Status; DeadlineExceeded when the timeout
// passes; Unavailable when the connection is (or gets) closed.

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "plugins/base/unique_fd.h"
#include "runtime/ttrpc/event_loop.h"
#include "runtime/ttrpc/messages.h"

namespace google::protobuf {
class MessageLite;
}

namespace berth::ttrpc {

struct CallOptions {
  Metadata metadata;
  // Sent as timeout_nano and enforced locally. Infinite: no timeout.
  absl::Duration timeout = absl::InfiniteDuration();
};

struct StreamOptions {
  CallOptions call;
  // The client sends data messages after the request (request flag kFlagRemoteOpen); without
  // it the request is the client's only message (kFlagRemoteClosed).
  bool client_streaming = false;
};

class ClientCore;
class ClientStream;
struct StreamState;

// A unary call sent without waiting for its answer (Client::Send). Wait blocks until the
// answer (or the call's error) is there; any thread but the client's loop thread.
class PendingCall {
 public:
  explicit PendingCall(std::string method) : method_(std::move(method)) {}
  absl::StatusOr<std::string> Wait();
  // Wait, then parses the answer into `response` (if not null).
  absl::Status Wait(google::protobuf::MessageLite* response);
  void Answer(absl::StatusOr<std::string> payload);  // from the loop thread, once

 private:
  const std::string method_;
  std::mutex mu_;
  std::condition_variable answered_;
  std::optional<absl::StatusOr<std::string>> value_;
};

class Client {
 public:
  // Receives the response payload or the call's error. Runs on the loop thread.
  using Callback = std::function<void(absl::StatusOr<std::string> payload)>;

  // Connects and starts a private loop thread.
  static absl::StatusOr<std::unique_ptr<Client>> Connect(absl::string_view address);
  // Connects and serves the connection on `loop`, which must outlive the client and run.
  static absl::StatusOr<std::unique_ptr<Client>> Connect(absl::string_view address,
                                                         EventLoop* loop);
  // Uses an already-connected stream socket (e.g. one end of a socketpair).
  static absl::StatusOr<std::unique_ptr<Client>> Adopt(UniqueFd fd, EventLoop* loop);

  // Closes the connection; calls still pending fail with Cancelled. With a private loop this
  // joins its thread; with a caller's loop, callbacks may still run after the client is gone.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Blocking unary call. Not on the loop thread (FailedPrecondition there: it would deadlock).
  absl::Status Call(absl::string_view service, absl::string_view method,
                    const google::protobuf::MessageLite& request,
                    google::protobuf::MessageLite* response, const CallOptions& options = {});
  // Blocking call with raw payloads.
  absl::StatusOr<std::string> CallRaw(absl::string_view service, absl::string_view method,
                                      std::string payload, const CallOptions& options = {});
  // Sends a unary call and returns at once (thread-safe). Calls sent one after another reach
  // the server in that order, so a server that serves them in order (berth-shim) can take a
  // call that depends on the one before without a round trip in between.
  std::shared_ptr<PendingCall> Send(absl::string_view service, absl::string_view method,
                                    std::string payload, const CallOptions& options = {});
  // Thread-safe, never blocks; `done` runs exactly once, on the loop thread.
  void CallAsync(absl::string_view service, absl::string_view method, std::string payload,
                 CallOptions options, Callback done);

  // Opens a ttrpc 1.2 stream (the server must support streams: Go ttrpc 1.1 peers do not).
  // Never blocks; errors show up in the stream's Recv.
  absl::StatusOr<std::unique_ptr<ClientStream>> OpenStream(absl::string_view service,
                                                           absl::string_view method,
                                                           std::string payload,
                                                           const StreamOptions& options = {});

  // Thread-safe. Pending and later calls fail.
  void Close();
  // True once the connection is closed (by either side). Thread-safe.
  bool closed() const;

 private:
  Client(std::unique_ptr<EventLoop> owned_loop, EventLoop* loop, std::shared_ptr<ClientCore> core);
  absl::Status NotOnLoopThread() const;
  static absl::StatusOr<std::unique_ptr<Client>> Start(UniqueFd fd,
                                                       std::unique_ptr<EventLoop> owned_loop,
                                                       EventLoop* loop);

  std::unique_ptr<EventLoop> owned_loop_;
  EventLoop* loop_;
  std::shared_ptr<ClientCore> core_;
  std::thread thread_;  // Runs owned_loop_.
};

// A stream opened with Client::OpenStream. Send/CloseSend and Recv may be used from different
// threads; neither on the loop thread. Destroying the stream abandons it.
class ClientStream {
 public:
  ~ClientStream();
  ClientStream(const ClientStream&) = delete;
  ClientStream& operator=(const ClientStream&) = delete;

  // Client streaming: queues one data message. FailedPrecondition after CloseSend().
  absl::Status Send(const google::protobuf::MessageLite& message);
  absl::Status SendRaw(std::string payload);
  // Tells the server the client will send nothing more.
  void CloseSend();

  // Blocks for the server's next message: true with `message` filled, false at the end of the
  // stream, or the stream's error (the server's status, DeadlineExceeded, Unavailable).
  absl::StatusOr<bool> Recv(google::protobuf::MessageLite* message);
  absl::StatusOr<std::optional<std::string>> RecvRaw();

 private:
  friend class Client;
  ClientStream(std::shared_ptr<ClientCore> core, std::shared_ptr<StreamState> state,
               bool client_streaming);

  std::shared_ptr<ClientCore> core_;
  std::shared_ptr<StreamState> state_;
  bool send_closed_;
};

}  // namespace berth::ttrpc
