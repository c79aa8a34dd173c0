#pragma once

// Server runs the daemon: it prepares the root and state directories, initialises the plugins
// in dependency order, serves every gRPC service plugin on the unix socket, and on Stop()
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

namespace berth::server {

// The number of gRPC calls in progress (kept by an interceptor on every call).
class CallCounter {
 public:
  void Add(int delta);
  // True once no call is in progress; false if calls remain after `timeout`.
  bool WaitIdle(absl::Duration timeout);

 private:
  absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

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
  CallCounter calls_;  // Outlives grpc_server_ (its interceptors point here).
  std::unique_ptr<grpc::Server> grpc_server_;
  bool stopped_ = false;
};

}  // namespace berth::server
