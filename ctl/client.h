#pragma once

// The connection berthctl uses: a gRPC channel to the daemon's unix socket, and per-call
// contexts that carry the namespace header. Errors come back as absl::Status with the
// daemon's message, so commands print what the daemon said.

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace berth::ctl {

inline constexpr char kDefaultAddress[] = "/run/berth/berthd.sock";
inline constexpr char kDefaultNamespace[] = "default";

struct GlobalOptions {
  std::string address = kDefaultAddress;
  std::string ns = kDefaultNamespace;
  std::string format = "table";  // table | json
  int timeout_seconds = 30;
};

class Client {
 public:
  explicit Client(const GlobalOptions& options);

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  const GlobalOptions& options() const { return options_; }

  // A context with the namespace header and the default deadline.
  std::unique_ptr<grpc::ClientContext> Context() const;

 private:
  GlobalOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
};

// grpc::Status -> absl::Status; an unreachable daemon gets a hint about the address.
absl::Status FromGrpc(const grpc::Status& status, const std::string& address);

}  // namespace berth::ctl
