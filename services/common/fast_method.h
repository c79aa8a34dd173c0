#pragma once

// FastMethod: a gRPC method berthd's front end (services/front) answers itself, on the thread
// that read the request, without passing it through gRPC C++'s server. For hot read-only
// calls that never block for long (constants, point reads, listings): gRPC C++ spends about
// as long moving a unary call between its threads as the whole call takes at containerd's
// half (tests/bench/README.md). Every method a service does not list here goes to its
// grpc::Service as usual.
//
// The handler gets the request's headers and its one message (the bytes after gRPC's 5-byte
// prefix) and fills a FramedReply: one message for a unary method, any number for a server
// stream. On an error status nothing of the reply is sent.

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/message_lite.h"
#include "grpcpp/support/status.h"
#include "plugins/base/http2/hpack.h"

namespace berth::services {

// The request's headers as the client sent them (HTTP/2 fields, lowercase names).
class RequestHeaders {
 public:
  explicit RequestHeaders(const std::vector<http2::Header>& fields) : fields_(fields) {}
  // The first value of `name`, if any.
  std::optional<std::string_view> Get(std::string_view name) const {
    const std::string* value = http2::FindHeader(fields_, name);
    if (value == nullptr) return std::nullopt;
    return *value;
  }

 private:
  const std::vector<http2::Header>& fields_;
};

// gRPC's message prefix: a compression flag (0) and the length, big-endian.
inline constexpr size_t kGrpcPrefixSize = 5;
inline void WriteGrpcPrefix(char* out, size_t length) {
  out[0] = '\0';
  for (int i = 0; i < 4; ++i) out[1 + i] = static_cast<char>(length >> (24 - 8 * i));
}

// A fast method's answer: gRPC length-prefixed messages back to back, in pieces that are sent
// in order (a listing's pieces are the large buffers it was built in, sent without a copy).
struct FramedReply {
  std::vector<std::string> pieces;
  size_t largest_message = 0;  // checked against the daemon's send limit

  // One more message, serialized.
  void Append(const google::protobuf::MessageLite& message) {
    const size_t size = message.ByteSizeLong();
    std::string& piece = pieces.emplace_back(kGrpcPrefixSize + size, '\0');
    WriteGrpcPrefix(piece.data(), size);
    message.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(piece.data()) +
                                            kGrpcPrefixSize);
    largest_message = std::max(largest_message, size);
  }
};

using FastHandler = std::function<grpc::Status(const RequestHeaders& headers,
                                               std::string_view message, FramedReply& reply)>;

struct FastMethod {
  std::string path;  // "/containerd.services.version.v1.Version/Version"
  FastHandler handler;
};

// Parses a request message the way containerd answers one that does not parse: INTERNAL,
// "grpc: error unmarshalling request".
inline grpc::Status ParseRequest(std::string_view bytes, google::protobuf::MessageLite& request) {
  if (request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return grpc::Status::OK;
  }
  return grpc::Status(grpc::StatusCode::INTERNAL,
                      "grpc: error unmarshalling request: failed to parse " +
                          request.GetTypeName());
}

}  // namespace berth::services
