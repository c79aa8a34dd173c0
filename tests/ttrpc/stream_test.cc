// ttrpc 1.2 streams: server streaming, client streaming, both, and the frames on the wire.

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "runtime/ttrpc/client.h"
#include "runtime/ttrpc/frame.h"
#include "runtime/ttrpc/socket.h"
#include "tests/ttrpc/test_service.h"

namespace berth::ttrpc {
namespace {

using google::rpc::Status;
using testing::TestServer;

constexpr char kService[] = "berth.test.v1.Streams";

Status Message(const std::string& text, int code = 0) {
  Status status;
  status.set_code(code);
  status.set_message(text);
  return status;
}

void RegisterStreams(Server& server) {
  // Count: request code N -> N data messages "0".."N-1", then an OK response.
  server.Register(kService, "Count", [](ServerCall call) {
    Status request;
    ASSERT_TRUE(call.ParseRequest(&request).ok());
    for (int i = 0; i < request.code(); ++i) {
      ASSERT_TRUE(call.SendMessage(Message(std::to_string(i)).SerializeAsString()).ok());
    }
    call.Finish(absl::OkStatus());
  });
  // Sum: adds the codes of the client's messages; replies once the client closes its side.
  server.Register(kService, "Sum", [](ServerCall call) {
    auto shared = std::make_shared<ServerCall>(std::move(call));
    auto sum = std::make_shared<int>(0);
    shared->OnMessage(
        [sum](std::string payload) {
          Status message;
          message.ParseFromString(payload);
          *sum += message.code();
        },
        [shared, sum] { shared->Reply(Message("sum", *sum)); });
  });
  // Echo: each client message comes straight back; ends when the client closes.
  server.Register(kService, "Echo", [](ServerCall call) {
    auto shared = std::make_shared<ServerCall>(std::move(call));
    shared->OnMessage([shared](std::string payload) { (void)shared->SendMessage(payload); },
                      [shared] { shared->Finish(absl::OkStatus()); });
  });
  server.Register(kService, "Fail", [](ServerCall call) {
    (void)call.SendMessage(Message("before").SerializeAsString());
    call.Fail(absl::NotFoundError("nothing here"));
  });
  server.Register(kService, "Unary", [](ServerCall call) {
    EXPECT_FALSE(call.streaming());
    EXPECT_EQ(call.SendMessage("x").code(), absl::StatusCode::kFailedPrecondition);
    call.Reply(Message("unary"));
  });
}

std::unique_ptr<Client> MustConnect(const std::string& address) {
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(address);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

TEST(StreamTest, ServerStreaming) {
  auto server = TestServer::Start(RegisterStreams);
  auto client = MustConnect(server->address());
  auto stream = client->OpenStream(kService, "Count", Message("", 5).SerializeAsString());
  ASSERT_TRUE(stream.ok()) << stream.status();
  for (int i = 0; i < 5; ++i) {
    Status message;
    absl::StatusOr<bool> got = (*stream)->Recv(&message);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(*got);
    EXPECT_EQ(message.message(), std::to_string(i));
  }
  Status message;
  absl::StatusOr<bool> end = (*stream)->Recv(&message);
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_FALSE(*end);
  // Unary calls still work beside streams, and see no stream flags.
  Status response;
  ASSERT_TRUE(client->Call(kService, "Unary", Message(""), &response).ok());
  EXPECT_EQ(response.message(), "unary");
}

TEST(StreamTest, ClientStreaming) {
  auto server = TestServer::Start(RegisterStreams);
  auto client = MustConnect(server->address());
  auto stream = client->OpenStream(kService, "Sum", "", {.client_streaming = true});
  ASSERT_TRUE(stream.ok());
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE((*stream)->Send(Message("", i)).ok());
  (*stream)->CloseSend();
  EXPECT_EQ((*stream)->Send(Message("")).code(), absl::StatusCode::kFailedPrecondition);
  Status message;
  absl::StatusOr<bool> got = (*stream)->Recv(&message);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(*got);
  EXPECT_EQ(message.code(), 55);
  EXPECT_FALSE(*(*stream)->Recv(&message));
}

TEST(StreamTest, BidirectionalEcho) {
  auto server = TestServer::Start(RegisterStreams);
  auto client = MustConnect(server->address());
  auto stream = client->OpenStream(kService, "Echo", "", {.client_streaming = true});
  ASSERT_TRUE(stream.ok());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE((*stream)->Send(Message("ping " + std::to_string(i))).ok());
    Status message;
    ASSERT_TRUE(*(*stream)->Recv(&message));
    EXPECT_EQ(message.message(), "ping " + std::to_string(i));
  }
  (*stream)->CloseSend();
  Status message;
  absl::StatusOr<bool> end = (*stream)->Recv(&message);
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_FALSE(*end);
}

TEST(StreamTest, ErrorEndsTheStream) {
  auto server = TestServer::Start(RegisterStreams);
  auto client = MustConnect(server->address());
  auto stream = client->OpenStream(kService, "Fail", "");
  ASSERT_TRUE(stream.ok());
  Status message;
  ASSERT_TRUE(*(*stream)->Recv(&message));
  EXPECT_EQ(message.message(), "before");
  absl::StatusOr<bool> end = (*stream)->Recv(&message);
  EXPECT_EQ(end.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(end.status().message(), "nothing here");
  // Unknown methods fail streams like calls.
  auto missing = client->OpenStream(kService, "Nope", "");
  EXPECT_EQ((*missing)->Recv(&message).status().code(), absl::StatusCode::kUnimplemented);
}

TEST(StreamTest, ConnectionLossEndsStreamsWithUnavailable) {
  auto server =
      TestServer::Start([](Server& s) { s.Register(kService, "Hang", [](ServerCall) {}); });
  std::vector<ServerCall> parked;
  server->RunOnLoop([&] {
    server->server().Register(kService, "Park",
                              [&](ServerCall call) { parked.push_back(std::move(call)); });
  });
  auto client = MustConnect(server->address());
  auto stream = client->OpenStream(kService, "Park", "", {.client_streaming = true});
  ASSERT_TRUE((*stream)->Send(Message("x")).ok());
  while (true) {
    bool ready = false;
    server->RunOnLoop([&] { ready = !parked.empty(); });
    if (ready) break;
  }
  server->RunOnLoop([&] { server->server().Shutdown(); });
  Status message;
  EXPECT_EQ((*stream)->Recv(&message).status().code(), absl::StatusCode::kUnavailable);
  server->RunOnLoop([&] { parked.clear(); });
}

TEST(StreamTest, WireFramesFollowTheProtocol) {
  auto server = TestServer::Start(RegisterStreams);
  absl::StatusOr<UniqueFd> fd = ConnectUnix(server->address());
  ASSERT_TRUE(fd.ok());
  ASSERT_EQ(fcntl(fd->get(), F_SETFL, 0), 0);
  // Client streaming by hand: Request [RO], Data, Data [RC | no data].
  Request request{kService, "Sum", "", 0, {}};
  std::string wire =
      *EncodeFrame(1, MessageType::kRequest, kFlagRemoteOpen, EncodeRequest(request));
  wire += *EncodeFrame(1, MessageType::kData, 0, Message("", 2).SerializeAsString());
  wire += *EncodeFrame(1, MessageType::kData, 0, Message("", 3).SerializeAsString());
  wire += *EncodeFrame(1, MessageType::kData, kFlagRemoteClosed | kFlagNoData, "");
  // Server streaming by hand: Request [RC] -> Data, Data, Response.
  Request count{kService, "Count", Message("", 2).SerializeAsString(), 0, {}};
  wire += *EncodeFrame(3, MessageType::kRequest, kFlagRemoteClosed, EncodeRequest(count));
  ASSERT_EQ(write(fd->get(), wire.data(), wire.size()), static_cast<ssize_t>(wire.size()));
  FrameReader reader;
  std::vector<Frame> frames;
  char buffer[4096];
  while (frames.size() < 4) {
    ssize_t n = read(fd->get(), buffer, sizeof(buffer));
    ASSERT_GT(n, 0);
    reader.Append(absl::string_view(buffer, n));
    while (auto frame = *reader.Next()) frames.push_back(*frame);
  }
  ASSERT_EQ(frames.size(), 4u);
  // Stream 1: one Response carrying the sum.
  EXPECT_EQ(frames[0].header.stream_id, 1u);
  EXPECT_EQ(frames[0].header.type, MessageType::kResponse);
  absl::StatusOr<Response> sum = DecodeResponse(frames[0].payload);
  ASSERT_TRUE(sum.ok() && sum->status.ok());
  Status sum_message;
  ASSERT_TRUE(sum_message.ParseFromString(sum->payload));
  EXPECT_EQ(sum_message.code(), 5);
  // Stream 3: Data, Data, then a closing Data [remote closed | no data].
  for (int i = 1; i <= 2; ++i) {
    EXPECT_EQ(frames[i].header.stream_id, 3u);
    EXPECT_EQ(frames[i].header.type, MessageType::kData);
    EXPECT_EQ(frames[i].header.flags, 0);
  }
  EXPECT_EQ(frames[3].header,
            (FrameHeader{0, 3, MessageType::kData, kFlagRemoteClosed | kFlagNoData}));
}

TEST(StreamTest, ClientSendsRequestFlagsAndCloseSendFrame) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  UniqueFd server_end(fds[0]);
  auto loop = *EventLoop::Create();
  std::thread thread([&] { (void)loop->Run(); });
  {
    auto client = *Client::Adopt(UniqueFd(fds[1]), loop.get());
    auto open = *client->OpenStream(kService, "A", "", {.client_streaming = true});
    ASSERT_TRUE(open->SendRaw("m").ok());
    open->CloseSend();
    auto closed = *client->OpenStream(kService, "B", "p");
    FrameReader reader;
    std::vector<Frame> frames;
    char buffer[256];
    while (frames.size() < 4) {
      ssize_t n = read(server_end.get(), buffer, sizeof(buffer));
      ASSERT_GT(n, 0);
      reader.Append(absl::string_view(buffer, n));
      while (auto frame = *reader.Next()) frames.push_back(*frame);
    }
    EXPECT_EQ(frames[0].header,
              (FrameHeader{frames[0].header.length, 1, MessageType::kRequest, kFlagRemoteOpen}));
    EXPECT_EQ(frames[1].header, (FrameHeader{1, 1, MessageType::kData, 0}));
    EXPECT_EQ(frames[1].payload, "m");
    EXPECT_EQ(frames[2].header,
              (FrameHeader{0, 1, MessageType::kData, kFlagRemoteClosed | kFlagNoData}));
    EXPECT_EQ(frames[3].header,
              (FrameHeader{frames[3].header.length, 3, MessageType::kRequest, kFlagRemoteClosed}));
  }
  loop->Stop();
  thread.join();
  (void)loop->RunOnce(absl::ZeroDuration());
}

}  // namespace
}  // namespace berth::ttrpc
