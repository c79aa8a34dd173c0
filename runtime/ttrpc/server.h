#pragma once

// ttrpc server on an EventLoop: accepts unix-socket connections and dispatches requests to
// handlers registered per "service/method". Single-threaded: handlers run on the loop thread
// and must not block. A handler may keep its ServerCall and reply later, from any thread (e.g.
// Task.Wait replies when the process exits).
//
//   Server server(loop.get());
//   server.Register("containerd.task.v2.Task", "Connect", [](ServerCall call) {
//     ConnectResponse response;
//     response.set_shim_pid(getpid());
//     call.Reply(response);
//   });
//   RETURN_IF_ERROR(server.Serve(UniqueFd(3)));  // Or server.Listen("unix:///run/x.sock").
//   loop->Run();

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

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

class ServerConnection;
struct CallState;

// One request being served. Move-only; exactly one reply is sent: the first of Reply(), Fail(),
// Finish(), the deadline (DeadlineExceeded) or destruction without a reply (Internal). Later
// replies are ignored. Reply methods are thread-safe. A ServerCall must not outlive its loop.
//
// Streams (ttrpc 1.2): a request with flags is non-unary. The handler may then send data
// messages with SendMessage() (server streaming) and receive the client's with OnMessage()
// (client streaming, request flag kFlagRemoteOpen); Finish() ends the stream: after data
// messages an OK finish without payload is a closing data frame (as Go ttrpc 1.2 sends), else a
// Response.
class ServerCall {
 public:
  ServerCall(ServerCall&&) noexcept;
  ServerCall& operator=(ServerCall&&) noexcept;
  ~ServerCall();

  const std::string& service() const { return request_.service; }
  const std::string& method() const { return request_.method; }
  const std::string& payload() const { return request_.payload; }
  const Metadata& metadata() const { return request_.metadata; }
  // From the request's timeout_nano; absl::InfiniteFuture() if it has none.
  absl::Time deadline() const { return deadline_; }

  // 0 for a unary request; kFlagRemoteOpen or kFlagRemoteClosed for a stream.
  uint8_t request_flags() const { return flags_; }
  bool streaming() const { return flags_ != 0; }

  // InvalidArgument if the payload does not parse.
  absl::Status ParseRequest(google::protobuf::MessageLite* request) const;

  void Reply(const google::protobuf::MessageLite& response);
  void Finish(const absl::Status& status, std::string payload = {});
  void Fail(const absl::Status& status) { Finish(status); }
  bool finished() const;

  // Streams: sends one data message. Thread-safe. FailedPrecondition for a unary call or after
  // the reply; ResourceExhausted if too large.
  absl::Status SendMessage(std::string payload);
  // Streams, loop thread only: `on_message` gets each data message of the client in order
  // (those received before this call at once), `on_closed` runs when the client has closed its
  // side (at once if it already has).
  void OnMessage(std::function<void(std::string payload)> on_message,
                 std::function<void()> on_closed = nullptr);

  // Loop thread only. `fn` runs on the loop thread if the call ends without the handler's reply:
  // its deadline passed or the client disconnected. Use it to drop deferred work.
  void OnCancel(std::function<void()> fn);

 private:
  friend class Server;
  ServerCall(Request request, uint8_t flags, absl::Time deadline, std::shared_ptr<CallState> state);

  Request request_;
  uint8_t flags_ = 0;
  absl::Time deadline_;
  std::shared_ptr<CallState> state_;
};

struct ServerOptions {
  // Only accept peers with our effective uid and gid (SO_PEERCRED), as containerd's shims do.
  bool require_same_user = false;
};

class Server {
 public:
  using Handler = std::function<void(ServerCall call)>;

  explicit Server(EventLoop* loop, ServerOptions options = {});
  // Closes listeners and connections. Loop thread (or with the loop not running).
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loop thread (or before the loop runs), like everything else here.
  void Register(absl::string_view service, absl::string_view method, Handler handler);

  // A handler that answers immediately: parses Req, calls `fn`, replies with its result.
  template <typename Req, typename Resp>
  void RegisterSync(absl::string_view service, absl::string_view method,
                    std::function<absl::StatusOr<Resp>(const ServerCall&, const Req&)> fn);

  // Listens on a unix socket address (path or unix://path). The path must not exist.
  absl::Status Listen(absl::string_view address);
  // Serves an already-listening socket, e.g. the shim's inherited fd 3.
  absl::Status Serve(UniqueFd listener);
  // Stops accepting and closes every connection (pending calls are cancelled).
  void Shutdown();

  size_t connection_count() const { return connections_.size(); }
  EventLoop* loop() const { return loop_; }

 private:
  friend class ServerConnection;
  void Accept(int listener);
  void Dispatch(ServerConnection* connection, uint32_t stream_id, uint8_t flags, Request request);
  void RemoveConnection(ServerConnection* connection);

  EventLoop* loop_;
  ServerOptions options_;
  std::map<std::string, std::map<std::string, Handler, std::less<>>, std::less<>> services_;
  std::vector<UniqueFd> listeners_;
  std::map<ServerConnection*, std::shared_ptr<ServerConnection>> connections_;
};

template <typename Req, typename Resp>
void Server::RegisterSync(absl::string_view service, absl::string_view method,
                          std::function<absl::StatusOr<Resp>(const ServerCall&, const Req&)> fn) {
  Register(service, method, [fn = std::move(fn)](ServerCall call) {
    Req request;
    if (absl::Status status = call.ParseRequest(&request); !status.ok()) {
      call.Fail(status);
      return;
    }
    absl::StatusOr<Resp> response = fn(call, request);
    if (response.ok()) {
      call.Reply(*response);
    } else {
      call.Fail(response.status());
    }
  });
}

}  // namespace berth::ttrpc
