#pragma once

// gRPC client helpers for tests: a channel to a daemon's unix socket with containerd's message
// limits, contexts carrying the `containerd-namespace` header, and raw calls by method name
// (for malformed requests and for methods the test has no stub for, like grpc.health.v1).

#include <chrono>
#include <memory>
#include <string>

#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace berth::testutil {

inline constexpr int kContainerdMaxMessage = 16 << 20;

struct ChannelOptions {
  // The client's own limits; raise max_send to send requests the server must refuse.
  int max_send_message_size = kContainerdMaxMessage;
  int max_receive_message_size = kContainerdMaxMessage;
};

// A channel to `unix:<socket_path>`. Each call makes a distinct channel (its own connection).
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& socket_path,
                                           const ChannelOptions& options = {});

inline constexpr auto kDefaultCallTimeout = std::chrono::seconds(10);

// A context with the namespace header (none if `ns` is empty) and a deadline.
std::unique_ptr<grpc::ClientContext> NamespacedContext(
    const std::string& ns, std::chrono::milliseconds timeout = kDefaultCallTimeout);
void SetNamespace(grpc::ClientContext& context, const std::string& ns);

struct RawResponse {
  grpc::Status status;
  std::string body;  // the serialized response message, if the call succeeded
};

// Calls `method` ("/pkg.Service/Method") with `request` as the raw request bytes, no matter
// whether they parse. `ns` empty = no namespace header.
// `wait_for_ready`: wait (up to the timeout) for the connection instead of failing fast.
RawResponse RawUnaryCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                         const std::string& request, const std::string& ns = "",
                         std::chrono::milliseconds timeout = kDefaultCallTimeout,
                         bool wait_for_ready = false);

// grpc.health.v1.Health/Check for the whole server: true when it answers SERVING within
// `timeout` (retrying transient failures).
bool HealthServing(const std::shared_ptr<grpc::Channel>& channel,
                   std::chrono::milliseconds timeout = std::chrono::seconds(2));

// "NOT_FOUND: container \"x\" ..." for assertion messages.
std::string StatusText(const grpc::Status& status);

}  // namespace berth::testutil
