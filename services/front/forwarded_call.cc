#include "services/front/forwarded_call.h"

#include <chrono>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "services/front/call_counter.h"
#include "services/front/connection.h"
#include "services/front/grpc_wire.h"

namespace berth::front {
namespace {

// The service's metadata, less gRPC's own ("grpc-status" and the like travel on their own).
std::vector<http2::Header> Metadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  std::vector<http2::Header> out;
  for (const auto& [name, value] : metadata) {
    std::string key(name.data(), name.size());
    if (absl::StartsWith(key, "grpc-")) continue;
    out.push_back({std::move(key), std::string(value.data(), value.size())});
  }
  return out;
}

}  // namespace

std::shared_ptr<ForwardedCall> ForwardedCall::Create(std::shared_ptr<Connection> connection,
                                                     uint32_t id, std::string method,
                                                     const std::vector<http2::Header>& headers,
                                                     CallCounter* alive) {
  std::shared_ptr<ForwardedCall> call(
      new ForwardedCall(std::move(connection), id, std::move(method), alive));
  call->self_ = call;
  call->AddMetadata(headers);
  return call;
}

ForwardedCall::ForwardedCall(std::shared_ptr<Connection> connection, uint32_t id,
                             std::string method, CallCounter* alive)
    : connection_(std::move(connection)), id_(id), method_(std::move(method)), alive_(alive) {
  alive_->Add(1);
}

void ForwardedCall::AddMetadata(const std::vector<http2::Header>& headers) {
  for (const http2::Header& field : headers) {
    if (field.name == "grpc-timeout") {
      if (std::optional<absl::Duration> timeout = ParseGrpcTimeout(field.value)) {
        context_.set_deadline(absl::ToChronoTime(absl::Now() + *timeout));
      }
      continue;
    }
    if (IsTransportHeader(field.name)) continue;
    if (absl::EndsWith(field.name, "-bin")) {
      std::string raw;
      if (absl::Base64Unescape(field.value, &raw)) context_.AddMetadata(field.name, raw);
      continue;
    }
    context_.AddMetadata(field.name, field.value);
  }
}

ForwardedCall::~ForwardedCall() { alive_->Add(-1); }

void ForwardedCall::Start(grpc::GenericStub& stub) {
  stub.PrepareBidiStreamingCall(&context_, method_, grpc::StubOptions(), this);
  AddHold();  // the write hold: until the half-close is started
  StartRead(&read_);
  StartCall();
}

void ForwardedCall::Write(grpc::ByteBuffer message) {
  {
    absl::MutexLock lock(&mu_);
    if (close_writes_) return;  // the call is over: the message has nowhere to go
    writes_.push_back(std::move(message));
  }
  WriteNext();
}

void ForwardedCall::CloseWrites() {
  {
    absl::MutexLock lock(&mu_);
    close_writes_ = true;
  }
  WriteNext();
}

void ForwardedCall::FinishWrites() {
  {
    absl::MutexLock lock(&mu_);
    close_writes_ = true;
    writes_.erase(writes_.begin() + (writing_ ? 1 : 0), writes_.end());  // never started
  }
  WriteNext();
}

// gRPC may run OnWriteDone inline inside StartWrite, so neither is called with mu_ held.
void ForwardedCall::WriteNext() {
  grpc::ByteBuffer* next = nullptr;  // deque elements stay put while others are appended
  bool last = false;
  {
    absl::MutexLock lock(&mu_);
    if (writing_ || writes_closed_) return;
    if (!writes_.empty()) {
      writing_ = true;
      next = &writes_.front();
      last = close_writes_ && writes_.size() == 1;
    } else if (!close_writes_) {
      return;
    }
    writes_closed_ = next == nullptr || last;
  }
  if (next != nullptr && !last) {
    StartWrite(next);
    return;
  }
  // The message and the half-close in one operation when both are there (a unary request).
  if (last) {
    StartWriteLast(next, grpc::WriteOptions());
  } else {
    StartWritesDone();
  }
  RemoveHold();  // the write hold: the operation in flight keeps the call until it completes
}

void ForwardedCall::OnWriteDone(bool ok) {
  {
    absl::MutexLock lock(&mu_);
    writes_.pop_front();
    writing_ = false;
  }
  if (ok) {
    WriteNext();
  } else {  // the call is over: nothing more goes in; OnDone tells the client why
    FinishWrites();
  }
  connection_->MessageTaken(id_);
}

void ForwardedCall::OnReadInitialMetadataDone(bool ok) {
  if (ok) connection_->SendHeaders(id_, Metadata(context_.GetServerInitialMetadata()));
}

void ForwardedCall::OnReadDone(bool ok) {
  if (!ok) {  // the service has answered in full (or the call failed): requests are moot
    FinishWrites();
    return;
  }
  AddHold();  // the read hold, in case the client's window makes us wait
  if (connection_->SendMessage(id_, read_)) ResumeRead();
}

void ForwardedCall::ResumeRead() {
  StartRead(&read_);
  RemoveHold();
}

void ForwardedCall::Cancel() {
  context_.TryCancel();
  FinishWrites();
}

void ForwardedCall::OnDone(const grpc::Status& status) {
  connection_->Finish(id_, status, Metadata(context_.GetServerTrailingMetadata()));
  connection_->CallDone(id_);
  self_.reset();  // may delete this
}

}  // namespace berth::front
