#include "runtime/ttrpc/messages.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/status.pb.h"

namespace berth::ttrpc {
namespace {

using google::protobuf::io::ArrayInputStream;
using google::protobuf::io::CodedInputStream;
using google::protobuf::io::CodedOutputStream;
using google::protobuf::io::StringOutputStream;

constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;
constexpr uint32_t kFixed32 = 5;

constexpr uint32_t Tag(uint32_t field, uint32_t wire_type) { return (field << 3) | wire_type; }

void WriteBytes(CodedOutputStream* out, uint32_t field, absl::string_view value) {
  out->WriteTag(Tag(field, kLengthDelimited));
  out->WriteVarint32(static_cast<uint32_t>(value.size()));
  out->WriteRaw(value.data(), static_cast<int>(value.size()));
}

// proto3: empty strings and zero numbers are not written.
void WriteBytesIfSet(CodedOutputStream* out, uint32_t field, absl::string_view value) {
  if (!value.empty()) {
    WriteBytes(out, field, value);
  }
}

bool SkipField(CodedInputStream* in, uint32_t tag) {
  uint64_t ignored;
  uint32_t length;
  switch (tag & 7) {
    case kVarint:
      return in->ReadVarint64(&ignored);
    case kFixed64:
      return in->Skip(8);
    case kLengthDelimited:
      return in->ReadVarint32(&length) && in->Skip(static_cast<int>(length));
    case kFixed32:
      return in->Skip(4);
    default:
      return false;
  }
}

bool ReadBytes(CodedInputStream* in, std::string* out) {
  uint32_t length;
  return in->ReadVarint32(&length) && in->ReadString(out, static_cast<int>(length));
}

// Reads fields of a message, calling `field(in, tag)` for each; `field` returns false on a
// malformed value, or is told the tag is unknown by returning std::nullopt.
template <typename FieldFn>
bool ParseFields(absl::string_view data, FieldFn field) {
  ArrayInputStream stream(data.data(), static_cast<int>(data.size()));
  CodedInputStream in(&stream);
  while (true) {
    uint32_t tag = in.ReadTag();
    if (tag == 0) {
      return in.ConsumedEntireMessage();
    }
    std::optional<bool> handled = field(&in, tag);
    if (!handled.has_value()) {
      handled = SkipField(&in, tag);
    }
    if (!*handled) {
      return false;
    }
  }
}

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("ttrpc: malformed ", what));
}

bool KeyEquals(absl::string_view a, absl::string_view b) { return absl::EqualsIgnoreCase(a, b); }

}  // namespace

Metadata::Metadata(std::initializer_list<Entry> entries) {
  for (const Entry& entry : entries) {
    Append(entry.first, entry.second);
  }
}

Metadata Metadata::WithNamespace(absl::string_view ns) {
  Metadata metadata;
  metadata.Set(kNamespaceKey, ns);
  return metadata;
}

void Metadata::Set(absl::string_view key, absl::string_view value) {
  std::erase_if(entries_, [key](const Entry& entry) { return KeyEquals(entry.first, key); });
  Append(key, value);
}

void Metadata::Append(absl::string_view key, absl::string_view value) {
  entries_.emplace_back(absl::AsciiStrToLower(key), std::string(value));
}

std::optional<absl::string_view> Metadata::Get(absl::string_view key) const {
  for (const Entry& entry : entries_) {
    if (KeyEquals(entry.first, key)) {
      return absl::string_view(entry.second);
    }
  }
  return std::nullopt;
}

std::vector<absl::string_view> Metadata::GetAll(absl::string_view key) const {
  std::vector<absl::string_view> values;
  for (const Entry& entry : entries_) {
    if (KeyEquals(entry.first, key)) {
      values.emplace_back(entry.second);
    }
  }
  return values;
}

std::string EncodeRequest(const Request& request) {
  std::string out;
  {
    StringOutputStream stream(&out);
    CodedOutputStream coded(&stream);
    WriteBytesIfSet(&coded, 1, request.service);
    WriteBytesIfSet(&coded, 2, request.method);
    WriteBytesIfSet(&coded, 3, request.payload);
    if (request.timeout_nano != 0) {
      coded.WriteTag(Tag(4, kVarint));
      coded.WriteVarint64(static_cast<uint64_t>(request.timeout_nano));
    }
    for (const auto& [key, value] : request.metadata.entries()) {
      std::string kv;
      {
        StringOutputStream kv_stream(&kv);
        CodedOutputStream kv_coded(&kv_stream);
        WriteBytesIfSet(&kv_coded, 1, key);
        WriteBytesIfSet(&kv_coded, 2, value);
      }
      WriteBytes(&coded, 5, kv);
    }
  }
  return out;
}

absl::StatusOr<Request> DecodeRequest(absl::string_view data) {
  Request request;
  bool ok = ParseFields(data, [&](CodedInputStream* in, uint32_t tag) -> std::optional<bool> {
    switch (tag) {
      case Tag(1, kLengthDelimited):
        return ReadBytes(in, &request.service);
      case Tag(2, kLengthDelimited):
        return ReadBytes(in, &request.method);
      case Tag(3, kLengthDelimited):
        return ReadBytes(in, &request.payload);
      case Tag(4, kVarint): {
        uint64_t value;
        if (!in->ReadVarint64(&value)) return false;
        request.timeout_nano = static_cast<int64_t>(value);
        return true;
      }
      case Tag(5, kLengthDelimited): {
        std::string kv, key, value;
        if (!ReadBytes(in, &kv)) return false;
        bool kv_ok =
            ParseFields(kv, [&](CodedInputStream* kv_in, uint32_t kv_tag) -> std::optional<bool> {
              if (kv_tag == Tag(1, kLengthDelimited)) return ReadBytes(kv_in, &key);
              if (kv_tag == Tag(2, kLengthDelimited)) return ReadBytes(kv_in, &value);
              return std::nullopt;
            });
        if (!kv_ok) return false;
        request.metadata.AddRaw(std::move(key), std::move(value));
        return true;
      }
      default:
        return std::nullopt;
    }
  });
  if (!ok) {
    return Malformed("request");
  }
  return request;
}

std::string EncodeResponse(const Response& response) {
  std::string out;
  {
    StringOutputStream stream(&out);
    CodedOutputStream coded(&stream);
    google::rpc::Status status;
    StatusToProto(response.status, &status);
    // Go always sets the status (code 0 for success); write it even when empty.
    WriteBytes(&coded, 1, status.SerializeAsString());
    WriteBytesIfSet(&coded, 2, response.payload);
  }
  return out;
}

absl::StatusOr<Response> DecodeResponse(absl::string_view data) {
  Response response;
  bool ok = ParseFields(data, [&](CodedInputStream* in, uint32_t tag) -> std::optional<bool> {
    switch (tag) {
      case Tag(1, kLengthDelimited): {
        std::string bytes;
        google::rpc::Status status;
        if (!ReadBytes(in, &bytes) || !status.ParseFromString(bytes)) return false;
        response.status = StatusFromProto(status);
        return true;
      }
      case Tag(2, kLengthDelimited):
        return ReadBytes(in, &response.payload);
      default:
        return std::nullopt;
    }
  });
  if (!ok) {
    return Malformed("response");
  }
  return response;
}

void StatusToProto(const absl::Status& status, google::rpc::Status* proto) {
  proto->Clear();
  proto->set_code(static_cast<int32_t>(status.code()));
  proto->set_message(std::string(status.message()));
}

absl::Status StatusFromProto(const google::rpc::Status& proto) {
  int code = proto.code();
  if (code == 0) {
    return absl::OkStatus();
  }
  if (code < 0 || code > static_cast<int>(absl::StatusCode::kUnauthenticated)) {
    code = static_cast<int>(absl::StatusCode::kUnknown);
  }
  return absl::Status(static_cast<absl::StatusCode>(code), proto.message());
}

}  // namespace berth::ttrpc
