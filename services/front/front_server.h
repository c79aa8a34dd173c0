#pragma once

// FrontServer: berthd's socket. It accepts clients and serves each connection on its own
// thread (connection.h): fast methods there and then, every other call passed to the gRPC
// server in-process. Clients see one HTTP/2 gRPC server, as containerd's.
//
// Why not gRPC C++'s own server on the socket: a unary call crossed two of its threads each
// way (about four context switches), which on this kind of machine cost as much as the rest
// of the call; a call answered on the thread that read it costs none (tests/bench/README.md).

#include <atomic>
#include <list>
#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
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
  // Serves `listener` (a listening unix socket) for `server`, which must outlive this.
  // `calls` counts the fast calls in progress.
  FrontServer(UniqueFd listener, grpc::Server& server, FrontOptions options, CallCounter* calls);
  ~FrontServer();  // Stop()
  FrontServer(const FrontServer&) = delete;
  FrontServer& operator=(const FrontServer&) = delete;

  // Stops accepting and closes every connection (GOAWAY), cancelling the calls they passed
  // on; returns when their threads have ended.
  void CloseConnections();
  // After the gRPC server has shut down: waits (up to `timeout`) until every forwarded call
  // has ended, so the channel they use can go. True if they all did.
  bool WaitForwardedDone(absl::Duration timeout) { return forwarded_.WaitIdle(timeout); }

 private:
  struct Served {
    std::shared_ptr<Connection> connection;
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  void AcceptLoop();
  void JoinFinished();  // mu_ held

  UniqueFd listener_;
  UniqueFd stop_;  // eventfd: the acceptor ends
  absl::flat_hash_map<std::string, services::FastHandler> fast_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
  CallCounter forwarded_;
  ConnectionOptions connection_options_;
  std::thread acceptor_;

  absl::Mutex mu_;
  std::list<Served> served_;
  bool closed_ = false;
};

}  // namespace berth::front
