#pragma once

// Server runs the daemon: it prepares the root and state directories, initialises the plugins
// in dependency order, serves every gRPC service plugin on the unix socket (through the front
// end, services/front, which answers the fast methods itself and passes the rest on to the
// gRPC server), and on Stop()
// drains in-flight calls, then shuts the plugins down in reverse order (closing RocksDB
// cleanly) and removes the socket.

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"
#include "plugins/config.h"
#include "plugins/base/unique_fd.h"
#include "plugins/registry.h"
#include "services/front/call_counter.h"
#include "services/front/front_server.h"

namespace berth::server {

class Server {
 public:
  // Takes a registry with the plugins registered but not initialised.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const plugins::Config& config,
                                                       std::unique_ptr<plugins::Registry> registry);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Ends long-lived calls (Wait, Subscribe), waits up to the grace period for the calls in
  // progress, then closes every connection and shuts the plugins down.
  void Stop();

 private:
  Server(plugins::Config config, std::unique_ptr<plugins::Registry> registry)
      : config_(std::move(config)), registry_(std::move(registry)) {}
  absl::Status PrepareDirectories();
  absl::Status Serve();

  plugins::Config config_;
  UniqueFd root_lock_, state_lock_;  // held while the daemon lives (exclusive.h)
  std::unique_ptr<plugins::Registry> registry_;
  front::CallCounter calls_;  // Outlives grpc_server_ (its interceptors point here).
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<front::FrontServer> front_;  // goes before grpc_server_
  bool stopped_ = false;
};

}  // namespace berth::server
