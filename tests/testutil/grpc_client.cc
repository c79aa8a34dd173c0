#include "tests/testutil/grpc_client.h"

#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/channel_arguments.h"

namespace berth::testutil {
namespace {

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "CODE?";
  }
}

}  // namespace

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& socket_path,
                                           const ChannelOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(options.max_send_message_size);
  args.SetMaxReceiveMessageSize(options.max_receive_message_size);
  // A fresh connection per channel: tests restart daemons on the same path.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  return grpc::CreateCustomChannel("unix:" + socket_path, grpc::InsecureChannelCredentials(),
                                   args);
}

void SetNamespace(grpc::ClientContext& context, const std::string& ns) {
  if (!ns.empty()) context.AddMetadata("containerd-namespace", ns);
}

std::unique_ptr<grpc::ClientContext> NamespacedContext(const std::string& ns,
                                                       std::chrono::milliseconds timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  SetNamespace(*context, ns);
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  return context;
}

RawResponse RawUnaryCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                         const std::string& request, const std::string& ns,
                         std::chrono::milliseconds timeout, bool wait_for_ready) {
  grpc::GenericStub stub(channel);
  std::unique_ptr<grpc::ClientContext> context = NamespacedContext(ns, timeout);
  context->set_wait_for_ready(wait_for_ready);
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  std::promise<grpc::Status> done;
  stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request_buffer, &response_buffer,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  RawResponse response;
  response.status = done.get_future().get();
  if (response.status.ok()) {
    std::vector<grpc::Slice> slices;
    if (response_buffer.Dump(&slices).ok()) {
      for (const grpc::Slice& s : slices) {
        response.body.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
  }
  return response;
}

bool HealthServing(const std::shared_ptr<grpc::Channel>& channel,
                   std::chrono::milliseconds timeout) {
  // HealthCheckRequest{service: ""} is the empty message; HealthCheckResponse{status: SERVING}
  // is field 1 (varint) = 1.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    RawResponse response = RawUnaryCall(channel, "/grpc.health.v1.Health/Check", "", "", left,
                                        /*wait_for_ready=*/true);
    if (response.status.ok()) return response.body == std::string("\x08\x01", 2);
    if (response.status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string StatusText(const grpc::Status& status) {
  return absl::StrCat(CodeName(status.error_code()), ": ", status.error_message());
}

}  // namespace berth::testutil
