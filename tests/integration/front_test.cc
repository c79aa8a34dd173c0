// berthd's own HTTP/2 front end (services/front) against clients that break the protocol or
// the gRPC framing: each gets the right error, on its own connection or stream only, and
// berthd goes on answering everyone else. Also: connection threads are reused, and forwarded
// calls leave nothing behind.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "containerd/services/version/v1/version.grpc.pb.h"
#include "ctl/rpc/connection.h"
#include "gtest/gtest.h"
#include "plugins/base/http2/frames.h"
#include "plugins/base/http2/hpack.h"
#include "plugins/base/unique_fd.h"
#include "tests/integration/integration_util.h"

namespace berth::testutil {
namespace {

namespace version_api = containerd::services::version::v1;
using std::chrono::milliseconds;

constexpr char kVersion[] = "/containerd.services.version.v1.Version/Version";
constexpr char kNamespacesList[] = "/containerd.services.namespaces.v1.Namespaces/List";

UniqueFd Connect(const std::string& path) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  EXPECT_EQ(connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval timeout = {5, 0};  // a test that waits for an answer never hangs
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

void WriteAll(int fd, std::string_view bytes) {
  ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
}

// Reads frames until the connection ends; returns the GOAWAY error code seen, or -1 if none.
// -2 if the connection was still open after the read timeout.
int64_t GoawayCodeBeforeClose(int fd) {
  int64_t code = -1;
  std::string buffer;
  char chunk[4096];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n == 0) return code;
    if (n < 0) return errno == EAGAIN ? -2 : code;  // ECONNRESET ends it too
    buffer.append(chunk, static_cast<size_t>(n));
    while (buffer.size() >= http2::kFrameHeaderSize) {
      char raw[http2::kFrameHeaderSize];
      buffer.copy(raw, sizeof raw);
      const http2::FrameHeader header = http2::ParseFrameHeader(raw);
      if (buffer.size() < http2::kFrameHeaderSize + header.length) break;
      if (header.type == http2::kGoaway && header.length >= 8) {
        code = http2::ReadBe32(buffer.data() + http2::kFrameHeaderSize + 4);
      }
      buffer.erase(0, http2::kFrameHeaderSize + header.length);
    }
  }
}

std::vector<http2::Header> RequestHeaders(const std::string& path) {
  return {{":method", "POST"},          {":scheme", "http"},
          {":path", path},              {":authority", "berthd"},
          {"content-type", "application/grpc"}, {"te", "trailers"},
          {"containerd-namespace", "default"}};
}

std::string Framed(std::string_view message, bool compressed = false) {
  std::string out(1, compressed ? '\1' : '\0');
  http2::AppendBe32(out, static_cast<uint32_t>(message.size()));
  out.append(message);
  return out;
}

// Sends `body` as a whole request on a new stream and returns the answer's grpc-status and
// grpc-message ("" if the stream ended without one).
std::pair<std::string, std::string> Exchange(http2::Connection& connection,
                                             const std::string& path, std::string body) {
  std::string_view data = body;
  absl::StatusOr<uint32_t> id = connection.Open(RequestHeaders(path), data, /*end_stream=*/true);
  EXPECT_TRUE(id.ok()) << id.status();
  if (!id.ok()) return {};
  if (!data.empty()) {
    EXPECT_TRUE(connection.Send(*id, data, true, std::nullopt).ok());
  }
  EXPECT_TRUE(connection.Wait(*id, http2::Clock::now() + std::chrono::seconds(10),
                              [](const http2::StreamState& s) {
                                return s.remote_closed || !s.error.ok();
                              }));
  const http2::StreamState state = connection.Snapshot(*id);
  connection.Close(*id);
  // A trailers-only answer carries the status in its one HEADERS.
  const auto& fields = state.trailers.empty() ? state.headers : state.trailers;
  const std::string* status = http2::FindHeader(fields, "grpc-status");
  const std::string* message = http2::FindHeader(fields, "grpc-message");
  return {status ? *status : "", message ? *message : ""};
}

class FrontTest : public DaemonTest {
 protected:
  void TearDown() override {
    if (daemon_ == nullptr) return;
    ExpectHealthy();
    version_api::VersionResponse version;
    grpc::ClientContext context;
    EXPECT_TRUE(version_api::Version::NewStub(channel_)
                    ->Version(&context, google::protobuf::Empty(), &version)
                    .ok());
  }

  std::unique_ptr<http2::Connection> Dial() {
    auto connection = http2::Connection::Dial(daemon_->address());
    EXPECT_TRUE(connection.ok()) << connection.status();
    return connection.ok() ? std::move(*connection) : nullptr;
  }

  size_t Threads() const {
    const std::string dir = "/proc/" + std::to_string(daemon_->pid()) + "/task";
    size_t n = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++n;
    return n;
  }
};

TEST_F(FrontTest, NotHttp2ClosesThatConnectionOnly) {
  UniqueFd fd = Connect(daemon_->address());
  WriteAll(fd.get(), "GET / HTTP/1.1\r\nHost: berthd\r\n\r\n");
  EXPECT_NE(GoawayCodeBeforeClose(fd.get()), -2) << "the connection stayed open";
}

TEST_F(FrontTest, FrameLargerThanOurSettingsIsAConnectionError) {
  UniqueFd fd = Connect(daemon_->address());
  std::string bytes(http2::kClientPreface);
  http2::AppendFrame(bytes, http2::kSettings, 0, 0, "");
  http2::AppendFrameHeader(bytes, {.length = (1u << 24) - 1, .type = http2::kData, .flags = 0,
                                   .stream = 1});
  WriteAll(fd.get(), bytes);
  EXPECT_EQ(GoawayCodeBeforeClose(fd.get()), http2::kProtocolError);
}

TEST_F(FrontTest, UndecodableHeaderBlockIsAConnectionError) {
  UniqueFd fd = Connect(daemon_->address());
  std::string bytes(http2::kClientPreface);
  http2::AppendFrame(bytes, http2::kSettings, 0, 0, "");
  // 0xff 0xff...: an indexed field whose index runs past any table.
  http2::AppendFrame(bytes, http2::kHeaders, http2::kEndHeaders | http2::kEndStream, 1,
                     "\xff\xff\xff\xff\x0f");
  WriteAll(fd.get(), bytes);
  EXPECT_EQ(GoawayCodeBeforeClose(fd.get()), http2::kProtocolError);
}

TEST_F(FrontTest, EvenStreamIdIsAConnectionError) {
  UniqueFd fd = Connect(daemon_->address());
  std::string bytes(http2::kClientPreface);
  http2::AppendFrame(bytes, http2::kSettings, 0, 0, "");
  std::string block;
  http2::HpackEncode(RequestHeaders(kVersion), block);
  http2::AppendFrame(bytes, http2::kHeaders, http2::kEndHeaders, 2, block);
  WriteAll(fd.get(), bytes);
  EXPECT_EQ(GoawayCodeBeforeClose(fd.get()), http2::kProtocolError);
}

TEST_F(FrontTest, BadMessagesFailTheirStreamOnly) {
  auto connection = Dial();
  ASSERT_NE(connection, nullptr);
  const std::string empty = Framed("");
  // Answered on the fast path and passed on alike.
  for (const char* path : {kVersion, kNamespacesList}) {
    SCOPED_TRACE(path);
    EXPECT_EQ(Exchange(*connection, path, Framed("", /*compressed=*/true)).first, "12");
    auto cut = Exchange(*connection, path, empty.substr(0, 3));
    EXPECT_EQ(cut.first, "13") << cut.second;
    auto over = Exchange(*connection, path, std::string("\0\x7f\xff\xff\xff", 5));
    EXPECT_EQ(over.first, "8") << over.second;  // RESOURCE_EXHAUSTED, before any byte of it
    EXPECT_EQ(Exchange(*connection, path, empty).first, "0");  // the connection still serves
  }
  // A unary method takes exactly one message.
  EXPECT_EQ(Exchange(*connection, kVersion, "").first, "13");
  EXPECT_EQ(Exchange(*connection, kVersion, empty + empty).first, "13");
  // Not a Version request (field 1 as a varint where none is expected is fine, a truncated
  // length-delimited field is not): containerd's INTERNAL "error unmarshalling request".
  EXPECT_EQ(Exchange(*connection, kVersion, Framed("\x0a\x05")).first, "13");
}

TEST_F(FrontTest, UnknownMethodIsUnimplemented) {
  auto connection = Dial();
  ASSERT_NE(connection, nullptr);
  EXPECT_EQ(Exchange(*connection, "/containerd.services.version.v1.Version/Nope", Framed("")).first,
            "12");
  EXPECT_EQ(Exchange(*connection, "/no.Such/Service", Framed("")).first, "12");
}

TEST_F(FrontTest, ConnectionThreadsAreReused) {
  const size_t before = Threads();
  size_t peak = 0;
  for (int round = 0; round < 3; ++round) {
    std::vector<std::unique_ptr<http2::Connection>> connections;
    for (int i = 0; i < 20; ++i) {  // 20 open at once: a thread each
      connections.push_back(Dial());
      ASSERT_NE(connections.back(), nullptr);
      EXPECT_EQ(Exchange(*connections.back(), kVersion, Framed("")).first, "0");
    }
    if (round == 0) {
      peak = Threads();
      // The test's own channel may hold one of the threads there were before, or not.
      EXPECT_GE(peak, before + 19);
    } else {
      EXPECT_LE(Threads(), peak) << "round " << round << ": closed connections' threads were "
                                 << "not reused";
    }
  }
}

// A forwarded call leaves nothing behind once its connection is gone (gRPC's in-process
// channel, used at first, kept ~10 KB of every quickly answered call).
TEST_F(FrontTest, ForwardedCallsOnNewConnectionsDoNotGrowTheDaemon) {
  auto rss_anon = [&] {
    std::ifstream status("/proc/" + std::to_string(daemon_->pid()) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("RssAnon:", 0) == 0) return std::stol(line.substr(8));
    }
    return 0L;
  };
  auto calls = [&](int n) {
    for (int i = 0; i < n; ++i) {
      auto connection = Dial();
      ASSERT_NE(connection, nullptr);
      ASSERT_EQ(Exchange(*connection, kNamespacesList, Framed("")).first, "0");
    }
  };
  calls(50);                 // warm up: threads, caches, the daemon's heap
  sleep(3);                  // berthd trims its heap after an idle second
  const long before = rss_anon();
  calls(300);
  sleep(3);
  EXPECT_LT(rss_anon() - before, 1024) << "kB of RssAnon after 300 forwarded calls";
}

}  // namespace
}  // namespace berth::testutil
