#include "services/front/grpc_wire.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "plugins/base/http2/frames.h"

namespace berth::front {

bool IsTransportHeader(std::string_view name) {
  if (name.empty() || name[0] == ':') return true;
  static constexpr std::string_view kTransport[] = {
      "content-type", "te", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding",
      "user-agent", "content-length", "connection", "host", "grpc-message-type"};
  for (std::string_view transport : kTransport) {
    if (name == transport) return true;
  }
  return false;
}

std::optional<absl::Duration> ParseGrpcTimeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  int64_t amount = 0;
  if (!absl::SimpleAtoi(absl::string_view(value.data(), value.size() - 1), &amount) || amount < 0) {
    return std::nullopt;
  }
  switch (value.back()) {
    case 'H': return absl::Hours(amount);
    case 'M': return absl::Minutes(amount);
    case 'S': return absl::Seconds(amount);
    case 'm': return absl::Milliseconds(amount);
    case 'u': return absl::Microseconds(amount);
    case 'n': return absl::Nanoseconds(amount);
    default: return std::nullopt;
  }
}

std::string PercentEncode(std::string_view message) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(message.size());
  for (unsigned char c : message) {
    if (c >= 0x20 && c <= 0x7e && c != '%') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

const std::string& AnswerHeadersBlock() {
  static const std::string* const block = [] {
    auto* out = new std::string;
    http2::HpackEncode({{":status", "200"}, {"content-type", "application/grpc"}}, *out);
    return out;
  }();
  return *block;
}

namespace {

// `metadata` as header fields: binary values ("-bin" names) in base64, as gRPC sends them.
void AppendMetadata(const std::vector<http2::Header>& metadata,
                    std::vector<http2::Header>& fields) {
  for (const http2::Header& field : metadata) {
    if (absl::EndsWith(field.name, "-bin")) {
      fields.push_back({field.name, absl::Base64Escape(field.value)});
    } else {
      fields.push_back(field);
    }
  }
}

}  // namespace

std::string AnswerHeadersBlock(const std::vector<http2::Header>& metadata) {
  std::string block = AnswerHeadersBlock();
  std::vector<http2::Header> fields;
  AppendMetadata(metadata, fields);
  http2::HpackEncode(fields, block);
  return block;
}

std::string TrailersBlock(const grpc::Status& status, const std::vector<http2::Header>& metadata,
                          bool trailers_only) {
  std::vector<http2::Header> fields;
  fields.reserve(metadata.size() + 3);
  fields.push_back({"grpc-status", std::to_string(static_cast<int>(status.error_code()))});
  if (!status.error_message().empty()) {
    fields.push_back({"grpc-message", PercentEncode(status.error_message())});
  }
  if (!status.error_details().empty()) {
    fields.push_back({"grpc-status-details-bin", absl::Base64Escape(status.error_details())});
  }
  AppendMetadata(metadata, fields);
  std::string block = trailers_only ? AnswerHeadersBlock() : std::string();
  http2::HpackEncode(fields, block);
  return block;
}

MessagePrefix ReadMessagePrefix(const char* bytes) {
  return {.compressed = bytes[0] != 0, .length = http2::ReadBe32(bytes + 1)};
}

}  // namespace berth::front
