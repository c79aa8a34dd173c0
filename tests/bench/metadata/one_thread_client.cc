#include "tests/bench/metadata/one_thread_client.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "ctl/rpc/connection.h"
#include "plugins/base/http2/frames.h"
#include "plugins/base/status_macros.h"

namespace berth::bench {
namespace {

using namespace http2;  // frame types, flags, settings

// Our receive windows: large enough that no answer the bench asks for waits for credit.
constexpr uint32_t kWindow = 16 << 20;
constexpr uint64_t kCreditBatch = 1 << 20;  // connection credit goes back in 1 MiB steps

std::string WindowUpdate(uint32_t increment) {
  std::string payload, frame;
  AppendBe32(payload, increment);
  AppendFrame(frame, kWindowUpdate, 0, 0, payload);
  return frame;
}

}  // namespace

absl::StatusOr<OneThreadClient> OneThreadClient::Dial(const std::string& socket_path) {
  ASSIGN_OR_RETURN(UniqueFd fd, ConnectBlocking(socket_path));
  OneThreadClient client(std::move(fd));
  std::string settings, preface(kClientPreface);
  AppendSetting(settings, kEnablePush, 0);
  AppendSetting(settings, kInitialWindowSize, kWindow);
  AppendFrame(preface, kSettings, 0, 0, settings);
  preface += WindowUpdate(kWindow - kDefaultWindow);
  RETURN_IF_ERROR(client.WriteAll(preface));
  return client;
}

absl::Status OneThreadClient::Unary(std::string_view path, std::string_view namespace_name,
                                    const google::protobuf::MessageLite& request,
                                    google::protobuf::MessageLite* response) {
  std::vector<Header> headers = {{":method", "POST"},       {":scheme", "http"},
                                 {":path", std::string(path)}, {":authority", "localhost"},
                                 {"content-type", "application/grpc"}, {"te", "trailers"}};
  if (!namespace_name.empty()) headers.push_back({"containerd-namespace", std::string(namespace_name)});
  std::string block, message, out;
  HpackEncode(headers, block);
  const uint32_t id = next_id_;
  next_id_ += 2;
  const std::string body = request.SerializeAsString();
  message.push_back(0);  // not compressed
  AppendBe32(message, static_cast<uint32_t>(body.size()));
  message += body;
  if (unreturned_ >= kCreditBatch) {
    out += WindowUpdate(static_cast<uint32_t>(unreturned_));
    unreturned_ = 0;
  }
  AppendFrame(out, kHeaders, kEndHeaders, id, block);
  AppendFrame(out, kData, kEndStream, id, message);
  RETURN_IF_ERROR(WriteAll(out));

  Answer answer;
  while (!answer.ended) RETURN_IF_ERROR(ReadFrame(id, answer));
  const std::string* status = FindHeader(answer.status_fields, "grpc-status");
  int code = 0;
  if (status == nullptr || !absl::SimpleAtoi(*status, &code)) {
    return absl::InternalError("answer without grpc-status");
  }
  if (code != 0) {
    const std::string* text = FindHeader(answer.status_fields, "grpc-message");
    return absl::Status(static_cast<absl::StatusCode>(code), text ? *text : "");
  }
  if (answer.data.size() < 5) return absl::InternalError("answer without a message");
  if (!response->ParseFromArray(answer.data.data() + 5, static_cast<int>(answer.data.size() - 5))) {
    return absl::InternalError("answer does not parse");
  }
  return absl::OkStatus();
}

absl::Status OneThreadClient::ReadFrame(uint32_t id, Answer& answer) {
  char raw[kFrameHeaderSize];
  RETURN_IF_ERROR(ReadExactly(raw, sizeof raw));
  const FrameHeader header = ParseFrameHeader(raw);
  std::string payload(header.length, '\0');
  RETURN_IF_ERROR(ReadExactly(payload.data(), payload.size()));
  const bool ours = header.stream == id;
  switch (header.type) {
    case kSettings:
    case kPing:
      if (header.flags & kAck) return absl::OkStatus();
      {
        std::string ack;
        AppendFrame(ack, header.type, kAck, 0, header.type == kPing ? payload : "");
        return WriteAll(ack);
      }
    case kGoaway:
      return absl::UnavailableError("the daemon sent GOAWAY");
    case kRstStream:
      if (ours) return absl::InternalError("the daemon reset the call");
      return absl::OkStatus();
    case kData:
      unreturned_ += header.length;
      if (header.flags & kPadded) return absl::InternalError("padded DATA (not handled here)");
      if (ours) answer.data += payload;
      if (ours && (header.flags & kEndStream)) answer.ended = true;
      return absl::OkStatus();
    case kHeaders:
    case kContinuation:
      if (header.type == kHeaders && (header.flags & (kPadded | kPriorityFlag))) {
        return absl::InternalError("padded or prioritized HEADERS (not handled here)");
      }
      answer.headers_block += payload;
      if (header.flags & kEndHeaders) {
        // Every block goes through the decoder, in order: it shares a table with the daemon.
        answer.status_fields.clear();
        RETURN_IF_ERROR(decoder_.Decode(answer.headers_block, answer.status_fields));
        answer.headers_block.clear();
      }
      if (ours && header.type == kHeaders && (header.flags & kEndStream)) answer.ended = true;
      return absl::OkStatus();
    default:
      return absl::OkStatus();  // WINDOW_UPDATE: our messages are far below any window
  }
}

absl::Status OneThreadClient::ReadExactly(char* out, size_t n) {
  while (n > 0) {
    if (begin_ == end_) {
      const ssize_t got = read(fd_.get(), in_.data(), in_.size());
      if (got == 0) return absl::UnavailableError("the daemon closed the connection");
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return absl::UnavailableError(strerror(errno));
      begin_ = 0;
      end_ = static_cast<size_t>(got);
    }
    const size_t take = std::min(n, end_ - begin_);
    std::memcpy(out, in_.data() + begin_, take);
    begin_ += take;
    out += take;
    n -= take;
  }
  return absl::OkStatus();
}

absl::Status OneThreadClient::WriteAll(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd_.get(), bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::UnavailableError(strerror(errno));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace berth::bench
