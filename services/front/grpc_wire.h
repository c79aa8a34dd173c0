#pragma once

// The gRPC-over-HTTP/2 conventions berthd's front end applies to requests and answers
// (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md): which request headers are
// the protocol's own rather than the caller's metadata, the grpc-timeout format, and the
// header blocks of an answer. Pure functions, no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/support/status.h"
#include "plugins/base/http2/hpack.h"

namespace berth::front {

// True for headers the transport consumes (pseudo-headers, content-type, te, grpc-timeout,
// grpc-encoding, user-agent, ...): everything else is the caller's metadata.
bool IsTransportHeader(std::string_view name);

// "100m" -> 100 ms. Null for anything that is not 1-8 digits and one of H M S m u n.
std::optional<absl::Duration> ParseGrpcTimeout(std::string_view value);

// grpc-message's encoding: bytes outside printable ASCII, and '%', as %XX.
std::string PercentEncode(std::string_view message);

// The HPACK block of an answer's headers (:status 200, content-type application/grpc).
const std::string& AnswerHeadersBlock();
// The same followed by the service's initial metadata ("-bin" values in base64).
std::string AnswerHeadersBlock(const std::vector<http2::Header>& metadata);

// The HPACK block of an answer's trailers: grpc-status, grpc-message if any, the error details
// (grpc-status-details-bin) if any, then `metadata` (binary values, "-bin" names, in base64).
// `trailers_only` puts the answer's headers first, for an answer with no message.
std::string TrailersBlock(const grpc::Status& status, const std::vector<http2::Header>& metadata,
                          bool trailers_only);

// gRPC's 5-byte message prefix read from `bytes` (at least 5): the compression flag and length.
struct MessagePrefix {
  bool compressed = false;
  uint32_t length = 0;
};
MessagePrefix ReadMessagePrefix(const char* bytes);

}  // namespace berth::front
