#pragma once

// RawUnary: a unary handler on gRPC's callback API, over the raw request bytes. The callback
// API answers on the thread that read the request (no hand-off to a sync-server worker: a hot
// unary call measured 0.47-0.56x containerd's latency this way, 0.73-0.79x synchronously), but
// gRPC 1.51 answers a request that does not parse with UNIMPLEMENTED on that path; parsing
// here keeps containerd's answer (INTERNAL, "grpc: error unmarshalling request"). Use it for
// handlers that never block for long (point reads, constants).
//
//   class S : public api::X::WithRawCallbackMethod_Get<api::X::Service> {
//     grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* c, const grpc::ByteBuffer* in,
//                                   grpc::ByteBuffer* out) override {
//       return RawUnary<api::GetRequest, api::GetResponse>(c, in, out, handler);
//     }
//   };

#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_callback.h"

namespace berth::services {

// `handler(const Request&, grpc::ByteBuffer& response)` writes the response's wire bytes itself
// (see wire_buffer.h) and returns the call's grpc::Status.
template <typename Request, typename Handler>
grpc::ServerUnaryReactor* RawUnaryBytes(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* raw_request,
                                        grpc::ByteBuffer* raw_response, Handler&& handler) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Request request;
  grpc::ByteBuffer copy(*raw_request);  // shares the slices; deserializing consumes the copy
  grpc::Status status = grpc::GenericDeserialize<grpc::ProtoBufferReader, Request>(&copy, &request);
  if (!status.ok()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL,
                                 "grpc: error unmarshalling request: " + status.error_message()));
    return reactor;
  }
  reactor->Finish(handler(request, *raw_response));
  return reactor;
}

// `handler(const Request&, Response&)` returns the call's grpc::Status.
template <typename Request, typename Response, typename Handler>
grpc::ServerUnaryReactor* RawUnary(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* raw_request,
                                   grpc::ByteBuffer* raw_response, Handler&& handler) {
  return RawUnaryBytes<Request>(
      context, raw_request, raw_response,
      [&](const Request& request, grpc::ByteBuffer& out) {
        Response response;
        grpc::Status status = handler(request, response);
        if (!status.ok()) return status;
        bool own_buffer = false;
        return grpc::GenericSerialize<grpc::ProtoBufferWriter, Response>(response, &out,
                                                                        &own_buffer);
      });
}

}  // namespace berth::services
