#pragma once

// FrontServer: berthd's socket. It accepts clients and serves each connection on a thread of
// its own for as long as the connection lasts (connection.h): fast methods there and then,
// every other call passed on to the gRPC server, which has no socket of its own, over a socket
// pair. Clients see one HTTP/2 gRPC server, as containerd's.
//
// The threads are kept and reused, one per connection open at once at the most: a command-line
// client opens a connection per command, and this saves a thread start on each.

#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/server.h"
#include "plugins/base/unique_fd.h"
#include "services/common/fast_method.h"
#include "services/front/call_counter.h"
#include "services/front/connection.h"

namespace berth::front {

struct FrontOptions {
  std::vector<services::FastMethod> fast_methods;
  size_t max_recv_message_size = 16 << 20;
  size_t max_send_message_size = 16 << 20;
};

class FrontServer {
 public:
  // Serves `listener` (a listening unix socket) for `server`, which must be started and
  // outlive this. `calls` counts the fast calls in progress.
  static absl::StatusOr<std::unique_ptr<FrontServer>> Start(UniqueFd listener,
                                                            grpc::Server& server,
                                                            FrontOptions options,
                                                            CallCounter* calls);
  ~FrontServer();  // Stop()
  FrontServer(const FrontServer&) = delete;
  FrontServer& operator=(const FrontServer&) = delete;

  // Stops accepting and closes every connection (GOAWAY), cancelling the calls they passed
  // on; returns when every worker thread has ended.
  void CloseConnections();
  // After the gRPC server has shut down: waits (up to `timeout`) until every forwarded call
  // has ended, so the channel they use can go. True if they all did.
  bool WaitForwardedDone(absl::Duration timeout) { return forwarded_.WaitIdle(timeout); }

 private:
  FrontServer(UniqueFd listener, std::shared_ptr<grpc::Channel> channel, FrontOptions options,
              CallCounter* calls);
  void AcceptLoop();
  void Work();  // a worker: serves waiting connections one after another until closed

  UniqueFd listener_;
  UniqueFd stop_;  // eventfd: the acceptor ends
  absl::flat_hash_map<std::string, services::FastHandler> fast_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
  CallCounter forwarded_;
  ConnectionOptions connection_options_;
  std::thread acceptor_;

  absl::Mutex mu_;
  std::deque<std::shared_ptr<Connection>> waiting_ ABSL_GUARDED_BY(mu_);  // accepted, not served
  absl::flat_hash_set<std::shared_ptr<Connection>> active_ ABSL_GUARDED_BY(mu_);  // to Close()
  std::vector<std::thread> workers_ ABSL_GUARDED_BY(mu_);
  size_t idle_ ABSL_GUARDED_BY(mu_) = 0;  // workers waiting for a connection
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace berth::front
