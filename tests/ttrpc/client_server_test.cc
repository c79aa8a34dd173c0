#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <mutex>
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

constexpr char kService[] = "berth.test.v1.Echo";

// Echo: replies with the request; the namespace from the metadata goes into `message`'s suffix.
void RegisterEcho(Server& server) {
  server.RegisterSync<Status, Status>(
      kService, "Echo",
      [](const ServerCall& call, const Status& request) -> absl::StatusOr<Status> {
        Status response = request;
        if (auto ns = call.metadata().Namespace()) {
          response.set_message(request.message() + "@" + std::string(*ns));
        }
        return response;
      });
  server.RegisterSync<Status, Status>(
      kService, "Fail", [](const ServerCall&, const Status& request) -> absl::StatusOr<Status> {
        return absl::Status(static_cast<absl::StatusCode>(request.code()), request.message());
      });
}

std::unique_ptr<Client> MustConnect(const std::string& address) {
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(address);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

Status Message(const std::string& text, int code = 0) {
  Status status;
  status.set_code(code);
  status.set_message(text);
  return status;
}

TEST(ClientServerTest, UnaryWithNamespaceMetadata) {
  auto server = TestServer::Start(RegisterEcho);
  auto client = MustConnect("unix://" + server->address());
  Status response;
  ASSERT_TRUE(client
                  ->Call(kService, "Echo", Message("hi", 3), &response,
                         {.metadata = Metadata::WithNamespace("ns1")})
                  .ok());
  EXPECT_EQ(response.message(), "hi@ns1");
  EXPECT_EQ(response.code(), 3);
  ASSERT_TRUE(client->Call(kService, "Echo", Message("plain"), &response).ok());
  EXPECT_EQ(response.message(), "plain");
}

// Send returns before the answer; calls sent back to back reach a server that serves in order
// (ours) in that order, so the second can depend on the first without a round trip between.
TEST(ClientServerTest, SentCallsArriveInOrderAndAreWaitedForLater) {
  std::mutex mu;
  std::vector<std::string> served;
  auto server = TestServer::Start([&](Server& s) {
    s.RegisterSync<Status, Status>(
        kService, "Record", [&](const ServerCall&, const Status& request) -> absl::StatusOr<Status> {
          std::lock_guard<std::mutex> lock(mu);
          served.push_back(request.message());
          if (request.code() != 0) return absl::FailedPreconditionError("refused " + request.message());
          return request;
        });
  });
  auto client = MustConnect("unix://" + server->address());
  std::vector<std::shared_ptr<PendingCall>> pending;
  for (int i = 0; i < 20; ++i) {
    pending.push_back(client->Send(kService, "Record",
                                   Message(absl::StrCat("m", i), i == 7 ? 9 : 0).SerializeAsString()));
  }
  for (int i = 0; i < 20; ++i) {
    Status response;
    absl::Status status = pending[i]->Wait(&response);
    if (i == 7) {
      EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
      EXPECT_EQ(status.message(), "refused m7");
      continue;
    }
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_EQ(response.message(), absl::StrCat("m", i));
  }
  std::vector<std::string> expected;
  for (int i = 0; i < 20; ++i) expected.push_back(absl::StrCat("m", i));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(served, expected);  // answered, so all served: on the loop thread, in order
}

TEST(ClientServerTest, ErrorStatusCarriesCodeAndMessage) {
  auto server = TestServer::Start(RegisterEcho);
  auto client = MustConnect(server->address());
  Status response;
  absl::Status status = client->Call(kService, "Fail", Message("task x: not found", 5), &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "task x: not found");
}

TEST(ClientServerTest, UnknownServiceOrMethodIsUnimplemented) {
  auto server = TestServer::Start(RegisterEcho);
  auto client = MustConnect(server->address());
  Status response;
  absl::Status status = client->Call(kService, "Nope", Message(""), &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(status.message(), "method Nope");
  status = client->Call("no.such.Service", "Echo", Message(""), &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(status.message(), "service no.such.Service");
}

TEST(ClientServerTest, ConcurrentCallsFromManyThreadsShareOneConnection) {
  auto server = TestServer::Start(RegisterEcho);
  auto client = MustConnect(server->address());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        std::string text = std::to_string(t) + "/" + std::to_string(i) + std::string(i * 50, 'x');
        Status response;
        if (client->Call(kService, "Echo", Message(text), &response).ok() &&
            response.message() == text) {
          ++ok;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 800);
  size_t connections = 0;
  server->RunOnLoop([&] { connections = server->server().connection_count(); });
  EXPECT_EQ(connections, 1u);
}

TEST(ClientServerTest, DeferredRepliesFromLoopAndOtherThreads) {
  std::mutex mu;
  std::vector<ServerCall> parked;
  auto server = TestServer::Start([&](Server& s) {
    // "Wait" parks the call; "Release" answers every parked call, newest first.
    s.Register(kService, "Wait", [&](ServerCall call) {
      std::lock_guard lock(mu);
      parked.push_back(std::move(call));
    });
    s.Register(kService, "Release", [&](ServerCall call) {
      std::vector<ServerCall> calls;
      {
        std::lock_guard lock(mu);
        calls.swap(parked);
      }
      for (auto it = calls.rbegin(); it != calls.rend(); ++it) {
        Status request;
        ASSERT_TRUE(it->ParseRequest(&request).ok());
        it->Reply(Message("released " + request.message()));
      }
      call.Reply(Message("done"));
    });
    // "Later" replies from another thread after a short sleep.
    s.Register(kService, "Later", [](ServerCall call) {
      std::thread([call = std::move(call)]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        call.Reply(Message("later"));
      }).detach();
    });
  });
  auto client = MustConnect(server->address());
  std::vector<std::future<std::string>> waits;
  for (int i = 0; i < 3; ++i) {
    waits.push_back(std::async(std::launch::async, [&, i] {
      Status response;
      absl::Status status = client->Call(kService, "Wait", Message(std::to_string(i)), &response);
      return status.ok() ? response.message() : std::string(status.message());
    }));
  }
  // The loop is not blocked by parked calls: other calls still get through.
  Status response;
  ASSERT_TRUE(client->Call(kService, "Later", Message(""), &response).ok());
  EXPECT_EQ(response.message(), "later");
  while (true) {
    std::lock_guard lock(mu);
    if (parked.size() == 3) break;
  }
  ASSERT_TRUE(client->Call(kService, "Release", Message(""), &response).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(waits[i].get(), "released " + std::to_string(i));
  }
}

TEST(ClientServerTest, DroppedCallIsInternal) {
  auto server =
      TestServer::Start([](Server& s) { s.Register(kService, "Drop", [](ServerCall) {}); });
  auto client = MustConnect(server->address());
  Status response;
  EXPECT_EQ(client->Call(kService, "Drop", Message(""), &response).code(),
            absl::StatusCode::kInternal);
}

TEST(ClientServerTest, TimeoutFailsCallAndCancelsOnServer) {
  std::atomic<bool> cancelled{false};
  std::vector<ServerCall> parked;  // Loop thread only.
  std::atomic<int64_t> deadline_ms{0};
  auto server = TestServer::Start([&](Server& s) {
    s.Register(kService, "Hang", [&](ServerCall call) {
      deadline_ms = absl::ToInt64Milliseconds(call.deadline() - absl::Now());
      call.OnCancel([&] { cancelled = true; });
      parked.push_back(std::move(call));
    });
  });
  auto client = MustConnect(server->address());
  Status response;
  absl::Time start = absl::Now();
  absl::Status status =
      client->Call(kService, "Hang", Message(""), &response, {.timeout = absl::Milliseconds(200)});
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(195));
  EXPECT_GT(deadline_ms.load(), 100);
  EXPECT_LE(deadline_ms.load(), 200);
  for (int i = 0; i < 100 && !cancelled; ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_TRUE(cancelled.load());
  // The connection is still good.
  server->RunOnLoop([&] { parked.clear(); });
  EXPECT_FALSE(client->closed());
}

TEST(ClientServerTest, ServerClosingMidCallIsUnavailable) {
  std::vector<ServerCall> parked;
  std::atomic<bool> cancelled{false};
  auto server = TestServer::Start([&](Server& s) {
    s.Register(kService, "Hang", [&](ServerCall call) {
      call.OnCancel([&] { cancelled = true; });
      parked.push_back(std::move(call));
    });
  });
  auto client = MustConnect(server->address());
  auto pending = std::async(std::launch::async, [&] {
    Status response;
    return client->Call(kService, "Hang", Message(""), &response);
  });
  while (true) {
    bool ready = false;
    server->RunOnLoop([&] { ready = !parked.empty(); });
    if (ready) break;
  }
  server->RunOnLoop([&] { server->server().Shutdown(); });
  absl::Status status = pending.get();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_TRUE(cancelled.load());
  EXPECT_TRUE(client->closed());
  Status response;
  EXPECT_EQ(client->Call(kService, "Hang", Message(""), &response).code(),
            absl::StatusCode::kUnavailable);
  server->RunOnLoop([&] { parked.clear(); });  // Replies to a closed connection are dropped.
}

TEST(ClientServerTest, OversizedRequestIsRejectedByTheClient) {
  auto server = TestServer::Start(RegisterEcho);
  auto client = MustConnect(server->address());
  Status response;
  absl::Status status =
      client->Call(kService, "Echo", Message(std::string(kMaxMessageSize, 'x')), &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  ASSERT_TRUE(client->Call(kService, "Echo", Message("still fine"), &response).ok());
}

TEST(ClientServerTest, OversizedReplyBecomesResourceExhausted) {
  auto server = TestServer::Start([](Server& s) {
    s.Register(kService, "Big", [](ServerCall call) {
      call.Reply(Message(std::string(kMaxMessageSize + 10, 'x')));
    });
  });
  auto client = MustConnect(server->address());
  Status response;
  EXPECT_EQ(client->Call(kService, "Big", Message(""), &response).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(ClientServerTest, OversizedFrameGetsErrorThenTheConnectionCloses) {
  auto server = TestServer::Start(RegisterEcho);
  absl::StatusOr<UniqueFd> fd = ConnectUnix(server->address());
  ASSERT_TRUE(fd.ok()) << fd.status();
  int raw = fd->get();
  int flags = 0;
  ASSERT_EQ(fcntl(raw, F_SETFL, flags), 0);  // Blocking for this test.
  char header[kFrameHeaderSize];
  EncodeFrameHeader({kMaxMessageSize + 1, 9, MessageType::kRequest, 0}, header);
  ASSERT_EQ(write(raw, header, sizeof(header)), static_cast<ssize_t>(sizeof(header)));
  std::string received;
  char buffer[4096];
  ssize_t n;
  while ((n = read(raw, buffer, sizeof(buffer))) > 0) received.append(buffer, n);
  EXPECT_EQ(n, 0);  // Closed by the server.
  FrameReader reader;
  reader.Append(received);
  auto frame = reader.Next();
  ASSERT_TRUE(frame.ok() && frame->has_value());
  EXPECT_EQ((*frame)->header.stream_id, 9u);
  EXPECT_EQ((*frame)->header.type, MessageType::kResponse);
  absl::StatusOr<Response> response = DecodeResponse((*frame)->payload);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(response->status.message().find("exceeds maximum message size"),
            absl::string_view::npos);
}

TEST(ClientServerTest, EvenStreamIdIsInvalidArgument) {
  auto server = TestServer::Start(RegisterEcho);
  absl::StatusOr<UniqueFd> fd = ConnectUnix(server->address());
  ASSERT_TRUE(fd.ok());
  ASSERT_EQ(fcntl(fd->get(), F_SETFL, 0), 0);
  Request request{kService, "Echo", "", 0, {}};
  std::string frame = *EncodeFrame(2, MessageType::kRequest, 0, EncodeRequest(request));
  ASSERT_EQ(write(fd->get(), frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
  char buffer[256];
  FrameReader reader;
  std::optional<Frame> got;
  while (!got) {
    ssize_t n = read(fd->get(), buffer, sizeof(buffer));
    ASSERT_GT(n, 0);
    reader.Append(absl::string_view(buffer, n));
    got = *reader.Next();
  }
  EXPECT_EQ(got->header.stream_id, 2u);
  EXPECT_EQ(DecodeResponse(got->payload)->status.code(), absl::StatusCode::kInvalidArgument);
}

TEST(ClientServerTest, StreamIdsAreOddFromOne) {
  // A raw server end: read two requests a client sends.
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  UniqueFd server_end(fds[0]);
  auto loop = *EventLoop::Create();
  std::thread thread([&] { (void)loop->Run(); });
  {
    auto client = *Client::Adopt(UniqueFd(fds[1]), loop.get());
    client->CallAsync(kService, "A", "", {.metadata = Metadata::WithNamespace("n")},
                      [](absl::StatusOr<std::string>) {});
    client->CallAsync(kService, "B", "", {}, [](absl::StatusOr<std::string>) {});
    FrameReader reader;
    std::vector<Frame> frames;
    char buffer[256];
    while (frames.size() < 2) {
      ssize_t n = read(server_end.get(), buffer, sizeof(buffer));
      ASSERT_GT(n, 0);
      reader.Append(absl::string_view(buffer, n));
      while (auto frame = *reader.Next()) frames.push_back(*frame);
    }
    EXPECT_EQ(frames[0].header.stream_id, 1u);
    EXPECT_EQ(frames[1].header.stream_id, 3u);
    EXPECT_EQ(frames[0].header.type, MessageType::kRequest);
    EXPECT_EQ(frames[0].header.flags, 0);
    absl::StatusOr<Request> request = DecodeRequest(frames[0].payload);
    ASSERT_TRUE(request.ok());
    EXPECT_EQ(request->method, "A");
    EXPECT_EQ(request->metadata.Get(kNamespaceKey), "n");
    EXPECT_EQ(request->timeout_nano, 0);
  }
  loop->Stop();
  thread.join();
  (void)loop->RunOnce(absl::ZeroDuration());
}

TEST(ClientServerTest, SharedLoopClientAndInheritedListener) {
  absl::StatusOr<ScopedTempDir> dir = ScopedTempDir::Create("/tmp", "ttrpc-test-");
  ASSERT_TRUE(dir.ok());
  std::string path = dir->path() + "/inherited.sock";
  absl::StatusOr<UniqueFd> listener = ListenUnix(path);
  ASSERT_TRUE(listener.ok()) << listener.status();
  // Listening again on the same path is refused.
  EXPECT_EQ(ListenUnix(path).status().code(), absl::StatusCode::kAlreadyExists);

  auto loop = *EventLoop::Create();
  Server server(loop.get(), {.require_same_user = true});
  RegisterEcho(server);
  ASSERT_TRUE(server.Serve(*std::move(listener)).ok());
  // Server and client on one single-threaded loop, driven from this thread.
  auto client = *Client::Connect(path, loop.get());
  std::optional<absl::StatusOr<std::string>> result;
  client->CallAsync(kService, "Echo", Message("one loop").SerializeAsString(),
                    {.timeout = absl::Seconds(5)},
                    [&](absl::StatusOr<std::string> payload) { result = std::move(payload); });
  for (int i = 0; i < 1000 && !result; ++i) ASSERT_TRUE(loop->RunOnce(absl::Milliseconds(10)).ok());
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->ok()) << result->status();
  Status response;
  ASSERT_TRUE(response.ParseFromString(**result));
  EXPECT_EQ(response.message(), "one loop");
  client.reset();
  server.Shutdown();
  (void)loop->RunOnce(absl::ZeroDuration());
}

TEST(ClientServerTest, ConnectToMissingSocketIsUnavailable) {
  EXPECT_EQ(Client::Connect("unix:///nonexistent/ttrpc.sock").status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(Client::Connect("tcp://127.0.0.1:1").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::ttrpc
