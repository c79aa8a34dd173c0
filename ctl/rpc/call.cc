#include "ctl/rpc/call.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace berth::ctl::rpc {
namespace {

using http2::Header;
using http2::StreamState;

// A response without grpc-status: the HTTP status says what went wrong (gRPC's
// http-grpc-status-mapping.md).
absl::Status FromHttpStatus(const std::string* status) {
  const std::string text = status == nullptr ? "none" : *status;
  int code = 0;
  (void)absl::SimpleAtoi(text, &code);
  const std::string message = absl::StrCat("the daemon answered HTTP status ", text);
  switch (code) {
    case 400:
      return absl::InternalError(message);
    case 401:
      return absl::UnauthenticatedError(message);
    case 403:
      return absl::PermissionDeniedError(message);
    case 404:
      return absl::UnimplementedError(message);
    case 429:
    case 502:
    case 503:
    case 504:
      return absl::UnavailableError(message);
    default:
      return absl::UnknownError(message);
  }
}

std::string Frame(const google::protobuf::MessageLite& message) {
  const size_t size = message.ByteSizeLong();
  std::string out(5 + size, '\0');
  out[1] = static_cast<char>(size >> 24);
  out[2] = static_cast<char>(size >> 16);
  out[3] = static_cast<char>(size >> 8);
  out[4] = static_cast<char>(size);
  message.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out.data() + 5));
  return out;
}

}  // namespace

std::string TimeoutHeader(http2::Clock::time_point deadline, http2::Clock::time_point now) {
  using std::chrono::duration_cast;
  const auto left = deadline > now ? deadline - now : http2::Clock::duration::zero();
  // Rounded up, so the daemon never sees a shorter deadline than ours.
  const int64_t ms = (duration_cast<std::chrono::microseconds>(left).count() + 999) / 1000;
  if (ms <= 99999999) return absl::StrCat(std::max<int64_t>(ms, 1), "m");
  const int64_t seconds = (ms + 999) / 1000;
  if (seconds <= 99999999) return absl::StrCat(seconds, "S");
  return absl::StrCat(std::min<int64_t>((seconds + 3599) / 3600, 99999999), "H");
}

std::string PercentDecode(std::string_view text) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

Call::Call(http2::Connection* connection, const absl::Status& dial_error, std::string_view path,
           const CallOptions& options)
    : connection_(connection), deadline_(options.deadline) {
  if (connection_ == nullptr) {
    status_ = dial_error.ok() ? absl::UnavailableError("no connection") : dial_error;
    finished_ = true;
    return;
  }
  headers_ = {{":method", "POST"},
              {":scheme", "http"},
              {":path", std::string(path)},
              {":authority", "localhost"},
              {"content-type", "application/grpc"},
              {"te", "trailers"}};
  if (deadline_.has_value()) {
    headers_.push_back({"grpc-timeout", TimeoutHeader(*deadline_, http2::Clock::now())});
  }
  headers_.insert(headers_.end(), options.metadata.begin(), options.metadata.end());
}

Call::~Call() {
  if (const uint32_t id = id_.load(); id != 0) connection_->Close(id);
}

bool Call::Finished() {
  std::lock_guard<std::mutex> lock(status_mu_);
  return finished_;
}

bool Call::Fail(const absl::Status& status) {
  {
    std::lock_guard<std::mutex> lock(status_mu_);
    if (finished_) return false;
    status_ = status;
    finished_ = true;
  }
  if (const uint32_t id = id_.load(); id != 0) connection_->Reset(id, http2::kCancel, status);
  return false;
}

bool Call::Send(std::string_view data, bool last) {
  if (Finished()) return false;
  uint32_t id = id_.load();
  if (id == 0) {
    std::lock_guard<std::mutex> lock(mu_);  // one opener when Read and Write race to start
    id = id_.load();
    if (id == 0) {
      if (cancelled_) return Fail(absl::CancelledError("cancelled"));
      absl::StatusOr<uint32_t> opened = connection_->Open(headers_, data, last);
      if (!opened.ok()) return Fail(opened.status());
      id = *opened;
      id_ = id;
      // A Cancel that came while the stream was being opened saw no id to reset.
      if (cancelled_) connection_->Reset(id, http2::kCancel, absl::CancelledError("cancelled"));
      if (data.empty()) return true;
    }
  }
  // A failed send usually means the daemon ended the call: Finish has its status.
  return connection_->Send(id, data, last, deadline_).ok();
}

uint32_t Call::Started() {
  if (const uint32_t id = id_.load(); id != 0) return id;
  // A call read before anything was written (a reader thread that starts first) opens the
  // stream without ending it: the writer may still send.
  if (!Send({}, false)) return 0;
  return id_.load();
}

bool Call::Write(const google::protobuf::MessageLite& message, bool last) {
  if (message.ByteSizeLong() > kMaxMessageSize) {
    return Fail(absl::ResourceExhaustedError("request larger than 16 MiB"));
  }
  return Send(Frame(message), last);
}

bool Call::WritesDone() { return Send({}, true); }

bool Call::Read(google::protobuf::MessageLite* message) {
  if (Finished()) return false;
  const uint32_t id = Started();
  if (id == 0) return false;
  for (;;) {
    const size_t have = in_.size() - in_pos_;
    if (have >= 5) {
      if (in_[in_pos_] != 0) return Fail(absl::InternalError("compressed response message"));
      const uint32_t size = http2::ReadBe32(in_.data() + in_pos_ + 1);
      if (size > kMaxMessageSize) {
        return Fail(absl::ResourceExhaustedError("response larger than 16 MiB"));
      }
      if (have >= 5 + size) {
        const bool parsed = message->ParseFromArray(in_.data() + in_pos_ + 5, size);
        in_pos_ += 5 + size;
        if (!parsed) return Fail(absl::InternalError("malformed response message"));
        return true;
      }
    }
    if (in_pos_ > 0 && in_pos_ >= in_.size() / 2) {
      in_.erase(0, in_pos_);
      in_pos_ = 0;
    }
    const bool waited = connection_->Wait(id, deadline_, [](const StreamState& state) {
      return !state.data.empty() || state.remote_closed || !state.error.ok();
    });
    if (!waited) return Fail(absl::DeadlineExceededError("deadline exceeded"));
    const size_t before = in_.size();
    connection_->Take(id, in_);
    if (in_.size() == before) {
      // The stream ended (or failed) with no more data: Finish has the status.
      if (in_.size() > in_pos_) Fail(absl::InternalError("response message cut short"));
      return false;
    }
  }
}

absl::Status Call::Finish() {
  if (id_.load() == 0) WritesDone();  // a call nobody wrote to still gets its answer
  const uint32_t id = id_.load();
  if (!Finished() && id != 0) {
    const bool waited = connection_->Wait(id, deadline_, [](const StreamState& state) {
      return state.remote_closed || !state.error.ok();
    });
    if (!waited) {
      Fail(absl::DeadlineExceededError("deadline exceeded"));
    } else {
      StreamState state = connection_->Snapshot(id);
      std::lock_guard<std::mutex> lock(status_mu_);
      if (!finished_) {
        status_ = state.error.ok() ? StatusFromTrailers(state) : state.error;
        finished_ = true;
      }
    }
  }
  std::lock_guard<std::mutex> lock(status_mu_);
  return status_;
}

void Call::Cancel() {
  cancelled_ = true;
  if (const uint32_t id = id_.load(); id != 0) {
    connection_->Reset(id, http2::kCancel, absl::CancelledError("cancelled"));
  }
}

absl::Status Call::StatusFromTrailers(const StreamState& state) const {
  // Trailers-only responses carry the status in the one HEADERS they send.
  const std::vector<Header>& fields = state.trailers.empty() ? state.headers : state.trailers;
  const std::string* code_text = http2::FindHeader(fields, "grpc-status");
  if (code_text == nullptr) {
    const std::string* http = http2::FindHeader(state.headers, ":status");
    if (http != nullptr && *http == "200") {
      return absl::InternalError("the daemon ended the call without a status");
    }
    return FromHttpStatus(http);
  }
  int code = 0;
  if (!absl::SimpleAtoi(*code_text, &code) || code < 0 || code > 16) {
    return absl::UnknownError(absl::StrCat("the daemon answered grpc-status ", *code_text));
  }
  if (code == 0) return absl::OkStatus();
  const std::string* message = http2::FindHeader(fields, "grpc-message");
  return absl::Status(static_cast<absl::StatusCode>(code),
                      message == nullptr ? "" : PercentDecode(*message));
}

absl::Status Call::Receive(google::protobuf::MessageLite* response) {
  const bool got = Read(response);
  absl::Status status = Finish();
  if (status.ok() && !got) return absl::InternalError("the daemon sent no response message");
  return status;
}

absl::Status Unary(http2::Connection* connection, const absl::Status& dial_error,
                   std::string_view path, const CallOptions& options,
                   const google::protobuf::MessageLite& request,
                   google::protobuf::MessageLite* response) {
  Call call(connection, dial_error, path, options);
  if (!call.Write(request, /*last=*/true)) return call.Finish();
  return call.Receive(response);
}

}  // namespace berth::ctl::rpc
