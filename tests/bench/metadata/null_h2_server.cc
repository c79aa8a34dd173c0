// null_h2_server: the least a server can do for metadata_bench's unary calls, to show the
// client's own floor beside berthd and containerd. It speaks just enough HTTP/2 for one gRPC
// client (no HPACK decoding, no gRPC library) and answers every call at once with one message:
// field 1 holding the request's bytes. For Containers.Get that is a Container whose id is the
// one asked for, for Version an empty VersionResponse, so the bench's checks still hold. What
// a unary call costs against it is the client stub, the kernel's socket round trip and nothing
// else: no daemon can answer the same client faster.
//
//   null_h2_server SOCKET     serves until killed

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <unordered_map>

namespace {

// HTTP/2 frame types and flags (RFC 9113 section 6) used here.
constexpr uint8_t kData = 0, kHeaders = 1, kSettings = 4, kPing = 6, kGoaway = 7,
                  kWindowUpdate = 8;
constexpr uint8_t kEndStream = 0x1, kAck = 0x1, kEndHeaders = 0x4, kPadded = 0x8;

bool ReadFull(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

void AppendFrame(std::string& out, uint8_t type, uint8_t flags, uint32_t stream,
                 const std::string& payload) {
  const size_t n = payload.size();
  const char header[9] = {static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                          static_cast<char>(n),       static_cast<char>(type),
                          static_cast<char>(flags),   static_cast<char>(stream >> 24),
                          static_cast<char>(stream >> 16), static_cast<char>(stream >> 8),
                          static_cast<char>(stream)};
  out.append(header, 9);
  out += payload;
}

std::string Be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

void AppendVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

// An HPACK "literal header field without indexing, new name" with short (< 127) plain strings.
std::string LiteralHeader(const std::string& name, const std::string& value) {
  std::string out(1, '\0');
  out += static_cast<char>(name.size());
  out += name;
  out += static_cast<char>(value.size());
  out += value;
  return out;
}

// Response headers, one message wrapping `request` (a gRPC length-prefixed message) as field
// 1, and the OK trailers.
std::string Answer(uint32_t stream, const std::string& request) {
  const std::string body = request.size() >= 5 ? request.substr(5) : std::string();
  std::string message(1, '\x0a');  // field 1, length-delimited
  AppendVarint(message, body.size());
  message += body;
  std::string data(1, '\0');  // not compressed
  data += Be32(static_cast<uint32_t>(message.size()));
  data += message;
  std::string out;
  // 0x88: indexed header 8 of the static table, ":status: 200".
  AppendFrame(out, kHeaders, kEndHeaders, stream,
              "\x88" + LiteralHeader("content-type", "application/grpc"));
  AppendFrame(out, kData, 0, stream, data);
  AppendFrame(out, kHeaders, kEndHeaders | kEndStream, stream, LiteralHeader("grpc-status", "0"));
  return out;
}

void Serve(int fd) {
  char preface[24];
  std::string out;
  AppendFrame(out, kSettings, 0, 0, "");
  if (!ReadFull(fd, preface, sizeof preface) || write(fd, out.data(), out.size()) < 0) {
    close(fd);
    return;
  }
  std::unordered_map<uint32_t, std::string> requests;  // open streams' DATA so far
  for (;;) {
    unsigned char h[9];
    if (!ReadFull(fd, reinterpret_cast<char*>(h), 9)) break;
    const size_t length = (size_t{h[0]} << 16) | (size_t{h[1]} << 8) | h[2];
    const uint8_t type = h[3], flags = h[4];
    const uint32_t stream = ((uint32_t{h[5]} & 0x7f) << 24) | (uint32_t{h[6]} << 16) |
                            (uint32_t{h[7]} << 8) | h[8];
    std::string payload(length, '\0');
    if (length > 0 && !ReadFull(fd, payload.data(), length)) break;
    out.clear();
    if (type == kSettings && !(flags & kAck)) {
      AppendFrame(out, kSettings, kAck, 0, "");
    } else if (type == kPing && !(flags & kAck)) {
      AppendFrame(out, kPing, kAck, 0, payload);
    } else if (type == kGoaway) {
      break;
    } else if (type == kData) {
      if ((flags & kPadded) && !payload.empty()) {
        const size_t pad = static_cast<unsigned char>(payload[0]);
        payload = payload.substr(1, payload.size() - 1 - std::min(pad, payload.size() - 1));
      }
      requests[stream] += payload;
      if (length > 0) {  // give the client its flow-control window back
        AppendFrame(out, kWindowUpdate, 0, 0, Be32(static_cast<uint32_t>(length)));
      }
    }
    if ((type == kHeaders || type == kData) && (flags & kEndStream)) {
      out += Answer(stream, requests[stream]);
      requests.erase(stream);
    }
    if (!out.empty() && write(fd, out.data(), out.size()) < 0) break;
  }
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: null_h2_server SOCKET\n");
    return 2;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (std::strlen(argv[1]) >= sizeof addr.sun_path) {
    std::fprintf(stderr, "null_h2_server: socket path too long\n");
    return 2;
  }
  std::strcpy(addr.sun_path, argv[1]);
  unlink(argv[1]);
  int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener, 16) != 0) {
    std::perror("null_h2_server: listen");
    return 1;
  }
  for (;;) {
    int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) std::thread(Serve, fd).detach();
  }
}
