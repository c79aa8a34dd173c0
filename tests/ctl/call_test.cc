// berthctl's own gRPC client (ctl/rpc) against a real gRPC C++ server in the same process:
// unary calls, errors and their messages, metadata, deadlines, cancellation, large streams in
// both directions (flow control), concurrent calls, and a server that goes away.
//
// Each CallTest runs twice: with gRPC C++'s server on the socket, and with berthd's front end
// (services/front) on it passing every call on to the same server, so the front end
// meets the same expectations as gRPC's own server: metadata and deadlines carried, errors and
// their messages intact, cancellation reaching the service, flow control both ways, a service
// that ends an upload early, and a server that goes away.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "containerd/services/content/v1/content.grpc.pb.h"
#include "ctl/rpc/call.h"
#include "ctl/rpc/connection.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "plugins/base/http2/frames.h"
#include "plugins/base/http2/hpack.h"
#include "plugins/base/temp_dir.h"
#include "plugins/base/unique_fd.h"
#include "runtime/ttrpc/socket.h"
#include "services/front/front_server.h"

namespace berth::ctl::rpc {
namespace {

namespace api = containerd::services::content::v1;
using std::chrono::milliseconds;

constexpr char kInfo[] = "/containerd.services.content.v1.Content/Info";
constexpr char kRead[] = "/containerd.services.content.v1.Content/Read";
constexpr char kWrite[] = "/containerd.services.content.v1.Content/Write";

char PatternByte(int64_t i) { return static_cast<char>(i % 251); }

// Content's methods repurposed as test endpoints:
//   Info:  digest "fail" answers NotFound with a message that needs percent-encoding; "slow"
//          sleeps until cancelled (or 5 s); anything else comes back with the namespace header
//          in labels["ns"] and the digest's length as size.
//   Read:  streams `size` pattern bytes in messages of `offset` bytes.
//   Write: answers every WRITE with the bytes so far and COMMIT with a checksum of them all;
//          ref "refuse" ends the call with FailedPrecondition at its first message.
class TestContent final : public api::Content::Service {
 public:
  std::atomic<bool> slow_cancelled{false};

  grpc::Status Info(grpc::ServerContext* context, const api::InfoRequest* request,
                    api::InfoResponse* response) override {
    if (request->digest() == "fail") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "blob `x` not found: 100% gone \xc3\xbc");
    }
    if (request->digest() == "slow") {
      for (int i = 0; i < 500 && !context->IsCancelled(); ++i) {
        std::this_thread::sleep_for(milliseconds(10));
      }
      slow_cancelled = context->IsCancelled();
      return grpc::Status::OK;
    }
    auto ns = context->client_metadata().find("containerd-namespace");
    if (ns != context->client_metadata().end()) {
      (*response->mutable_info()->mutable_labels())["ns"] = std::string(ns->second.data(),
                                                                        ns->second.size());
    }
    response->mutable_info()->set_digest(request->digest());
    response->mutable_info()->set_size(static_cast<int64_t>(request->digest().size()));
    return grpc::Status::OK;
  }

  grpc::Status Read(grpc::ServerContext*, const api::ReadContentRequest* request,
                    grpc::ServerWriter<api::ReadContentResponse>* writer) override {
    int64_t sent = 0;
    while (sent < request->size()) {
      api::ReadContentResponse response;
      response.set_offset(sent);
      const int64_t n = std::min(request->offset(), request->size() - sent);
      std::string* data = response.mutable_data();
      for (int64_t i = 0; i < n; ++i) data->push_back(PatternByte(sent + i));
      if (!writer->Write(response)) return grpc::Status(grpc::StatusCode::CANCELLED, "gone");
      sent += n;
    }
    return grpc::Status::OK;
  }

  grpc::Status Write(grpc::ServerContext*,
                     grpc::ServerReaderWriter<api::WriteContentResponse,
                                              api::WriteContentRequest>* stream) override {
    api::WriteContentRequest request;
    int64_t total = 0;
    uint64_t sum = 0;
    while (stream->Read(&request)) {
      if (request.ref() == "refuse") {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "refused mid-upload");
      }
      for (char c : request.data()) sum = sum * 31 + static_cast<unsigned char>(c);
      total += static_cast<int64_t>(request.data().size());
      api::WriteContentResponse response;
      response.set_action(request.action());
      response.set_offset(total);
      if (request.action() == api::COMMIT) response.set_digest(std::to_string(sum));
      if (!stream->Write(response)) break;
    }
    return grpc::Status::OK;
  }
};

uint64_t Checksum(const std::string& bytes, uint64_t sum = 0) {
  for (char c : bytes) sum = sum * 31 + static_cast<unsigned char>(c);
  return sum;
}

// The parameter: whether berthd's front end serves the socket (else gRPC C++'s server does).
class CallTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create("/tmp", "berth-call-test.");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = std::make_unique<ScopedTempDir>(std::move(*dir));
    socket_ = dir_->path() + "/grpc.sock";
    StartServer();
    auto connection = http2::Connection::Dial(socket_);
    ASSERT_TRUE(connection.ok()) << connection.status();
    connection_ = std::move(*connection);
  }
  void TearDown() override {
    connection_.reset();
    StopServer();
  }
  void StartServer() {
    const bool front = GetParam();
    grpc::ServerBuilder builder;
    if (!front) builder.AddListeningPort("unix:" + socket_, grpc::InsecureServerCredentials());
    builder.SetMaxReceiveMessageSize(kMaxMessageSize + 1024);
    builder.SetMaxSendMessageSize(kMaxMessageSize + 1024);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    if (!front) return;
    auto listener = ttrpc::ListenUnix(socket_);
    ASSERT_TRUE(listener.ok()) << listener.status();
    auto started = front::FrontServer::Start(
        std::move(*listener), *server_,
        front::FrontOptions{.max_recv_message_size = kMaxMessageSize + 1024,
                            .max_send_message_size = kMaxMessageSize + 1024},
        &fast_calls_);
    ASSERT_TRUE(started.ok()) << started.status();
    front_ = std::move(*started);
  }
  void StopServer() {
    if (front_) front_->CloseConnections();
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
    front_.reset();
    server_.reset();
  }
  absl::Status Info(const std::string& digest, api::InfoResponse* response,
                    CallOptions options = {}) {
    api::InfoRequest request;
    request.set_digest(digest);
    return Unary(connection_.get(), absl::OkStatus(), kInfo, options, request, response);
  }

  std::unique_ptr<ScopedTempDir> dir_;
  std::string socket_;
  TestContent service_;
  std::unique_ptr<grpc::Server> server_;
  front::CallCounter fast_calls_;
  std::unique_ptr<front::FrontServer> front_;
  std::unique_ptr<http2::Connection> connection_;
};

INSTANTIATE_TEST_SUITE_P(ServerKinds, CallTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "BerthFront" : "GrpcServer";
                         });

TEST_P(CallTest, UnaryCarriesRequestMetadataAndResponse) {
  api::InfoResponse response;
  CallOptions options;
  options.metadata.push_back({"containerd-namespace", "team-a"});
  ASSERT_TRUE(Info("sha256:abc", &response, options).ok());
  EXPECT_EQ(response.info().digest(), "sha256:abc");
  EXPECT_EQ(response.info().size(), 10);
  EXPECT_EQ(response.info().labels().at("ns"), "team-a");
  // The same connection carries the next calls (the daemon's HPACK table grows meanwhile).
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(Info("d" + std::to_string(i), &response, options).ok());
    EXPECT_EQ(response.info().digest(), "d" + std::to_string(i));
  }
}

TEST_P(CallTest, ErrorsKeepTheirCodeAndMessage) {
  api::InfoResponse response;
  absl::Status status = Info("fail", &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "blob `x` not found: 100% gone \xc3\xbc");
}

TEST_P(CallTest, UnknownMethodIsUnimplemented) {
  api::InfoRequest request;
  api::InfoResponse response;
  absl::Status status = Unary(connection_.get(), absl::OkStatus(),
                              "/containerd.services.content.v1.Content/Nope", {}, request,
                              &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented) << status;
}

TEST_P(CallTest, DeadlineEndsASlowCall) {
  CallOptions options;
  options.deadline = http2::Clock::now() + milliseconds(200);
  api::InfoResponse response;
  const auto start = http2::Clock::now();
  absl::Status status = Info("slow", &response, options);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_LT(http2::Clock::now() - start, std::chrono::seconds(3));
  // The connection is still good for the next call.
  EXPECT_TRUE(Info("after", &response).ok());
}

TEST_P(CallTest, CancelFromAnotherThreadEndsABlockedCall) {
  api::InfoRequest request;
  request.set_digest("slow");
  Call call(connection_.get(), absl::OkStatus(), kInfo, {});
  ASSERT_TRUE(call.Write(request, /*last=*/true));
  std::thread canceller([&call] {
    std::this_thread::sleep_for(milliseconds(100));
    call.Cancel();
  });
  api::InfoResponse response;
  EXPECT_FALSE(call.Read(&response));
  EXPECT_EQ(call.Finish().code(), absl::StatusCode::kCancelled);
  canceller.join();
  // The server saw the cancellation (RST_STREAM) rather than running to its end.
  for (int i = 0; i < 100 && !service_.slow_cancelled; ++i) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_TRUE(service_.slow_cancelled);
}

TEST_P(CallTest, ServerStreamBeyondTheWindowsArrivesWhole) {
  // 40 MiB in 1 MiB messages: more than our stream (4 MiB) and connection (16 MiB) windows,
  // so it only completes if credit goes back as the messages are read.
  constexpr int64_t kTotal = 40 << 20;
  api::ReadContentRequest request;
  request.set_size(kTotal);
  request.set_offset(1 << 20);
  Call call(connection_.get(), absl::OkStatus(), kRead, {});
  ASSERT_TRUE(call.Write(request, /*last=*/true));
  api::ReadContentResponse response;
  int64_t received = 0;
  bool pattern_ok = true;
  while (call.Read(&response)) {
    EXPECT_EQ(response.offset(), received);
    for (size_t i = 0; i < response.data().size(); i += 4099) {
      pattern_ok &= response.data()[i] == PatternByte(received + static_cast<int64_t>(i));
    }
    received += static_cast<int64_t>(response.data().size());
  }
  EXPECT_TRUE(call.Finish().ok());
  EXPECT_EQ(received, kTotal);
  EXPECT_TRUE(pattern_ok);
}

TEST_P(CallTest, OneMessageLargerThanTheWindowsArrives) {
  constexpr int64_t kSize = 15 << 20;  // one 15 MiB message against a 4 MiB stream window
  api::ReadContentRequest request;
  request.set_size(kSize);
  request.set_offset(kSize);
  Call call(connection_.get(), absl::OkStatus(), kRead, {});
  ASSERT_TRUE(call.Write(request, /*last=*/true));
  api::ReadContentResponse response;
  ASSERT_TRUE(call.Read(&response)) << call.Finish();
  EXPECT_EQ(response.data().size(), static_cast<size_t>(kSize));
  EXPECT_EQ(response.data()[kSize - 1], PatternByte(kSize - 1));
  EXPECT_FALSE(call.Read(&response));
  EXPECT_TRUE(call.Finish().ok());
}

TEST_P(CallTest, BidiStreamUploadsPastThePeersWindow) {
  // 64 MiB up in 1 MiB messages, replies read on another thread as berthctl's ingest does.
  Call call(connection_.get(), absl::OkStatus(), kWrite, {});
  std::vector<api::WriteContentResponse> replies;
  std::thread reader([&] {
    api::WriteContentResponse reply;
    while (call.Read(&reply)) replies.push_back(reply);
  });
  api::WriteContentRequest request;
  request.set_action(api::WRITE);
  uint64_t sum = 0;
  std::string chunk(1 << 20, '\0');
  for (int i = 0; i < 64; ++i) {
    for (size_t j = 0; j < chunk.size(); j += 997) chunk[j] = static_cast<char>(i + j);
    sum = Checksum(chunk, sum);
    request.set_data(chunk);
    ASSERT_TRUE(call.Write(request));
  }
  request.Clear();
  request.set_action(api::COMMIT);
  ASSERT_TRUE(call.Write(request, /*last=*/true));
  reader.join();
  EXPECT_TRUE(call.Finish().ok());
  ASSERT_EQ(replies.size(), 65u);
  EXPECT_EQ(replies[63].offset(), int64_t{64} << 20);
  EXPECT_EQ(replies.back().digest(), std::to_string(sum));
}

TEST_P(CallTest, DaemonEndingAnUploadStopsTheWriter) {
  // The server answers after the first message while we still have 64 MiB to send: Write
  // must give up (not wait for credit that never comes) and Finish must say why.
  Call call(connection_.get(), absl::OkStatus(), kWrite, {});
  api::WriteContentRequest request;
  request.set_ref("refuse");
  request.set_data(std::string(1 << 20, 'x'));
  int written = 0;
  while (written < 64 && call.Write(request)) ++written;
  EXPECT_LT(written, 64);
  absl::Status status = call.Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_EQ(status.message(), "refused mid-upload");
}

TEST_P(CallTest, OversizedRequestFailsBeforeSending) {
  api::InfoRequest request;
  request.set_digest(std::string(kMaxMessageSize + 1, 'x'));
  api::InfoResponse response;
  absl::Status status =
      Unary(connection_.get(), absl::OkStatus(), kInfo, {}, request, &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_TRUE(Info("still-fine", &response).ok());
}

TEST_P(CallTest, ConcurrentCallsShareTheConnection) {
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        api::InfoResponse response;
        const std::string digest = std::to_string(t) + "-" + std::to_string(i);
        if (Info(digest, &response).ok() && response.info().digest() == digest) ++good;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(good, 8 * 40);
}

TEST_P(CallTest, ServerGoneFailsCallsAsUnavailable) {
  api::InfoResponse response;
  ASSERT_TRUE(Info("before", &response).ok());
  StopServer();
  absl::Status status = Info("after", &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
}

// A bare HTTP/2 peer for what a gRPC server does not do on demand, on an accepted socket.
class RawPeer {
 public:
  explicit RawPeer(UniqueFd fd) : fd_(std::move(fd)) {}
  bool ReadFull(char* p, size_t n) {
    while (n > 0) {
      ssize_t r = read(fd_.get(), p, n);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  bool Next(http2::FrameHeader& header, std::string& payload) {
    char bytes[http2::kFrameHeaderSize];
    if (!ReadFull(bytes, sizeof bytes)) return false;
    header = http2::ParseFrameHeader(bytes);
    payload.resize(header.length);
    return ReadFull(payload.data(), payload.size());
  }
  // Reads the client's preface and answers with empty SETTINGS.
  bool Handshake() {
    char preface[24];
    if (!ReadFull(preface, sizeof preface)) return false;
    Send(http2::kSettings, 0, 0, {});
    return true;
  }
  void Send(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
    std::string frame;
    http2::AppendFrame(frame, type, flags, stream, payload);
    EXPECT_EQ(write(fd_.get(), frame.data(), frame.size()),
              static_cast<ssize_t>(frame.size()));
  }

 private:
  UniqueFd fd_;
};

// A unix socket in a temp dir for one RawPeer.
struct RawListener {
  std::unique_ptr<ScopedTempDir> dir;
  std::string path;
  UniqueFd fd;

  bool Listen() {
    auto made = ScopedTempDir::Create("/tmp", "berth-call-test.");
    if (!made.ok()) return false;
    dir = std::make_unique<ScopedTempDir>(std::move(*made));
    path = dir->path() + "/raw.sock";
    fd.Reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    return bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
           listen(fd.get(), 1) == 0;
  }
  RawPeer Accept() { return RawPeer(UniqueFd(accept(fd.get(), nullptr, nullptr))); }
};

// The peer raises the stream window with SETTINGS while the client waits for credit. gRPC's
// server counts the larger window only once it has the client's SETTINGS ACK, and resets a
// stream whose DATA comes first: the ACK must precede any DATA sent under the new window.
TEST(SettingsOrderTest, AckPrecedesDataUnderTheNewWindow) {
  RawListener listener;
  ASSERT_TRUE(listener.Listen());
  std::string order;  // after the SETTINGS went out: 'A' for the ACK, 'D' per DATA frame
  std::thread peer([&order, &listener] {
    RawPeer raw = listener.Accept();
    ASSERT_TRUE(raw.Handshake());
    http2::FrameHeader header;
    std::string payload;
    int64_t data = 0;
    bool raised = false;
    while (raw.Next(header, payload)) {
      if (raised && header.type == http2::kSettings && (header.flags & http2::kAck)) order += 'A';
      if (header.type != http2::kData) continue;
      data += header.length;
      if (raised) order += 'D';
      if (!raised && data == http2::kDefaultWindow) {
        // The client is out of credit: open the connection window, then the stream's.
        std::string increment;
        http2::AppendBe32(increment, 1 << 20);
        raw.Send(http2::kWindowUpdate, 0, 0, increment);
        std::string setting = {0, static_cast<char>(http2::kInitialWindowSize)};
        http2::AppendBe32(setting, 1 << 20);
        raw.Send(http2::kSettings, 0, 0, setting);
        raised = true;
      }
      if (header.flags & http2::kEndStream) break;
    }
    std::string block;
    http2::HpackEncode({{":status", "200"}, {"content-type", "application/grpc"}}, block);
    raw.Send(http2::kHeaders, http2::kEndHeaders, header.stream, block);
    block.clear();
    http2::HpackEncode({{"grpc-status", "0"}}, block);
    raw.Send(http2::kHeaders, http2::kEndHeaders | http2::kEndStream, header.stream, block);
  });
  auto connection = http2::Connection::Dial(listener.path);
  ASSERT_TRUE(connection.ok()) << connection.status();
  api::WriteContentRequest request;
  request.set_data(std::string(200 << 10, 'x'));  // three times the default window
  Call call(connection->get(), absl::OkStatus(), kWrite, {});
  EXPECT_TRUE(call.Write(request, /*last=*/true));
  EXPECT_TRUE(call.Finish().ok()) << call.Finish();
  peer.join();
  ASSERT_FALSE(order.empty());
  EXPECT_EQ(order[0], 'A') << order;
  EXPECT_NE(order.find('D'), std::string::npos) << order;
}

// Frames after a stream's END_STREAM are at most that stream's error (RFC 9113 5.1): the
// answer already received stands and the connection carries the next call.
TEST(StreamStateTest, FramesAfterTheEndOfAStreamDoNotBreakTheConnection) {
  RawListener listener;
  ASSERT_TRUE(listener.Listen());
  std::thread peer([&listener] {
    RawPeer raw = listener.Accept();
    ASSERT_TRUE(raw.Handshake());
    http2::FrameHeader header;
    std::string payload;
    int answered = 0;
    while (answered < 2 && raw.Next(header, payload)) {
      if (!(header.type == http2::kData && (header.flags & http2::kEndStream))) continue;
      std::string block;
      std::string status = answered == 0 ? "5" : "0";
      http2::HpackEncode({{":status", "200"},
                          {"content-type", "application/grpc"},
                          {"grpc-status", status},
                          {"grpc-message", "first"}},
                         block);
      raw.Send(http2::kHeaders, http2::kEndHeaders | http2::kEndStream, header.stream, block);
      if (answered == 0) {
        // A late HEADERS and DATA on the stream that just ended.
        block.clear();
        http2::HpackEncode({{":status", "200"}}, block);
        raw.Send(http2::kHeaders, http2::kEndHeaders, header.stream, block);
        raw.Send(http2::kData, 0, header.stream, std::string(5, '\0'));
      }
      ++answered;
    }
  });
  auto connection = http2::Connection::Dial(listener.path);
  ASSERT_TRUE(connection.ok()) << connection.status();
  api::InfoRequest request;
  api::InfoResponse response;
  absl::Status first =
      Unary(connection->get(), absl::OkStatus(), kInfo, {}, request, &response);
  EXPECT_EQ(first.code(), absl::StatusCode::kNotFound) << first;
  EXPECT_EQ(first.message(), "first");
  absl::Status second =
      Unary(connection->get(), absl::OkStatus(), kInfo, {}, request, &response);
  // Trailers-only OK without a message: the call fails for want of a response, not the link.
  EXPECT_EQ(second.code(), absl::StatusCode::kInternal) << second;
  EXPECT_EQ(second.message(), "the daemon sent no response message");
  peer.join();
}

TEST(DialTest, MissingSocketIsUnavailable) {
  auto connection = http2::Connection::Dial("/nonexistent/berth-call-test/none.sock");
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.status().code(), absl::StatusCode::kUnavailable);
  api::InfoRequest request;
  api::InfoResponse response;
  absl::Status status = Unary(nullptr, connection.status(), kInfo, {}, request, &response);
  EXPECT_EQ(status, connection.status());
}

TEST(CallFormatTest, TimeoutHeaderRoundsUpAndFitsEightDigits) {
  const auto now = http2::Clock::now();
  EXPECT_EQ(TimeoutHeader(now + std::chrono::seconds(30), now), "30000m");
  EXPECT_EQ(TimeoutHeader(now + std::chrono::microseconds(1500), now), "2m");
  EXPECT_EQ(TimeoutHeader(now - std::chrono::seconds(1), now), "1m");
  EXPECT_EQ(TimeoutHeader(now + std::chrono::hours(24 * 365), now), "31536000S");
}

TEST(CallFormatTest, PercentDecodeUndoesGrpcMessageEncoding) {
  EXPECT_EQ(PercentDecode("100%25 gone %C3%BC"), "100% gone \xc3\xbc");
  EXPECT_EQ(PercentDecode("bad %zz and %4"), "bad %zz and %4");
}

}  // namespace
}  // namespace berth::ctl::rpc
