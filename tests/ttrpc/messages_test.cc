#include "runtime/ttrpc/messages.h"

#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace berth::ttrpc {
namespace {

TEST(MessagesTest, RequestWireBytes) {
  Request request{"s", "m", "p", 5, {}};
  request.metadata.AddRaw("k", "v");
  // Field by field, as protoc-generated code would write them.
  EXPECT_EQ(EncodeRequest(request), std::string("\x0a\x01s\x12\x01m\x1a\x01p\x20\x05"
                                                "\x2a\x06\x0a\x01k\x12\x01v",
                                                19));
}

TEST(MessagesTest, RequestRoundTrip) {
  Request request{"containerd.task.v2.Task", "Connect", std::string("\0\1\2", 3), 3000000000, {}};
  request.metadata = Metadata::WithNamespace("default");
  request.metadata.Append("X-Trace", "a");
  request.metadata.Append("x-trace", "b");
  absl::StatusOr<Request> decoded = DecodeRequest(EncodeRequest(request));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->service, request.service);
  EXPECT_EQ(decoded->method, request.method);
  EXPECT_EQ(decoded->payload, request.payload);
  EXPECT_EQ(decoded->timeout_nano, 3000000000);
  EXPECT_EQ(decoded->metadata.Namespace(), "default");
  std::vector<absl::string_view> traces = decoded->metadata.GetAll("X-TRACE");
  ASSERT_EQ(traces.size(), 2u);
  EXPECT_EQ(traces[0], "a");
  EXPECT_EQ(traces[1], "b");
}

TEST(MessagesTest, NegativeTimeoutRoundTrips) {
  Request request{"s", "m", "", -1, {}};
  absl::StatusOr<Request> decoded = DecodeRequest(EncodeRequest(request));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->timeout_nano, -1);
}

TEST(MessagesTest, UnknownFieldsAreSkipped) {
  // Field 9 varint, field 10 bytes, then service.
  std::string wire("\x48\x96\x01\x52\x02xy\x0a\x01s", 10);
  absl::StatusOr<Request> decoded = DecodeRequest(wire);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->service, "s");
}

TEST(MessagesTest, MalformedRequestIsInvalidArgument) {
  EXPECT_EQ(DecodeRequest(std::string("\x0a\x05s", 3)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeRequest(std::string("\x0f", 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MessagesTest, ResponseWithErrorStatus) {
  Response response{absl::NotFoundError("container x: not found"), ""};
  std::string wire = EncodeResponse(response);
  absl::StatusOr<Response> decoded = DecodeResponse(wire);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(decoded->status.message(), "container x: not found");

  google::rpc::Status status;
  status.set_code(5);
  status.set_message("container x: not found");
  EXPECT_EQ(wire, "\x0a" + std::string(1, static_cast<char>(status.ByteSizeLong())) +
                      status.SerializeAsString());
}

TEST(MessagesTest, ResponseOkWithPayload) {
  absl::StatusOr<Response> decoded =
      DecodeResponse(EncodeResponse(Response{absl::OkStatus(), "payload"}));
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->status.ok());
  EXPECT_EQ(decoded->payload, "payload");
  // A response without a status field (an empty message) is OK too.
  decoded = DecodeResponse("");
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->status.ok());
}

TEST(MessagesTest, StatusCodesMapToGrpcNumbers) {
  google::rpc::Status proto;
  StatusToProto(absl::UnimplementedError("method Nope"), &proto);
  EXPECT_EQ(proto.code(), 12);
  StatusToProto(absl::DeadlineExceededError("x"), &proto);
  EXPECT_EQ(proto.code(), 4);
  proto.set_code(14);
  EXPECT_EQ(StatusFromProto(proto).code(), absl::StatusCode::kUnavailable);
  proto.set_code(99);
  EXPECT_EQ(StatusFromProto(proto).code(), absl::StatusCode::kUnknown);
}

TEST(MessagesTest, MetadataSetReplacesAndLowercases) {
  Metadata metadata;
  metadata.Append("Key", "1");
  metadata.Append("key", "2");
  metadata.Set("KEY", "3");
  ASSERT_EQ(metadata.entries().size(), 1u);
  EXPECT_EQ(metadata.entries()[0].first, "key");
  EXPECT_EQ(metadata.Get("Key"), "3");
  EXPECT_FALSE(metadata.Get("other").has_value());
}

}  // namespace
}  // namespace berth::ttrpc
