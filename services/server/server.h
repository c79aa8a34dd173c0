#pragma once

// Server runs the daemon: it prepares the root and state directories, initialises the plugins
// in dependency order, serves every gRPC service plugin on the unix socket, and on Stop()
// drains in-flight calls, then shuts the plugins down in reverse order (closing RocksDB
// cleanly) and removes the socket.

#include <memory>

#include "absl/status/statusor.h"
#include "grpcpp/server.h"
#include "plugins/config.h"
#include "plugins/registry.h"

namespace berth::server {

class Server {
 public:
  // Takes a registry with the plugins registered but not initialised.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const plugins::Config& config,
                                                       std::unique_ptr<plugins::Registry> registry);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Stops accepting calls, waits up to the grace period for in-flight ones, then shuts down.
  void Stop();

 private:
  Server(plugins::Config config, std::unique_ptr<plugins::Registry> registry)
      : config_(std::move(config)), registry_(std::move(registry)) {}
  absl::Status PrepareDirectories();
  absl::Status Serve();

  plugins::Config config_;
  std::unique_ptr<plugins::Registry> registry_;
  std::unique_ptr<grpc::Server> grpc_server_;
  bool stopped_ = false;
};

}  // namespace berth::server
