#pragma once

// The ttrpc envelope messages (Go ttrpc types.go), encoded by hand on protobuf's coded streams:
//
//   Request  {service = 1, method = 2, payload = 3 bytes, timeout_nano = 4 int64,
//             metadata = 5 repeated KeyValue{key = 1, value = 2}}
//   Response {status = 1 google.rpc.Status, payload = 2 bytes}
//
// Unknown fields are skipped, as protobuf does.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace google::rpc {
class Status;
}

namespace berth::ttrpc {

// The metadata key containerd uses for the namespace of a ttrpc call.
inline constexpr absl::string_view kNamespaceKey = "containerd-namespace-ttrpc";

// Request metadata: an ordered list of key/value pairs; a key may repeat. Keys set through
// Set/Append are lowercased (Go's ttrpc.MD does the same); Get matches case-insensitively.
class Metadata {
 public:
  using Entry = std::pair<std::string, std::string>;

  Metadata() = default;
  Metadata(std::initializer_list<Entry> entries);
  static Metadata WithNamespace(absl::string_view ns);

  // Replaces every value of `key` with `value`.
  void Set(absl::string_view key, absl::string_view value);
  void Append(absl::string_view key, absl::string_view value);
  // The first value of `key`.
  std::optional<absl::string_view> Get(absl::string_view key) const;
  std::vector<absl::string_view> GetAll(absl::string_view key) const;
  std::optional<absl::string_view> Namespace() const { return Get(kNamespaceKey); }

  // Adds an entry exactly as received (no lowercasing).
  void AddRaw(std::string key, std::string value) {
    entries_.emplace_back(std::move(key), std::move(value));
  }
  const std::vector<Entry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<Entry> entries_;
};

struct Request {
  std::string service;
  std::string method;
  std::string payload;
  int64_t timeout_nano = 0;
  Metadata metadata;
};

struct Response {
  absl::Status status;  // Carried as google.rpc.Status{code, message}; details are dropped.
  std::string payload;
};

std::string EncodeRequest(const Request& request);
absl::StatusOr<Request> DecodeRequest(absl::string_view data);
std::string EncodeResponse(const Response& response);
absl::StatusOr<Response> DecodeResponse(absl::string_view data);

// absl::StatusCode values are the gRPC code numbers, so the conversion is direct; codes out of
// range become kUnknown.
void StatusToProto(const absl::Status& status, google::rpc::Status* proto);
absl::Status StatusFromProto(const google::rpc::Status& proto);

}  // namespace berth::ttrpc
