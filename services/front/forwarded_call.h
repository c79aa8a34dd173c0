#pragma once

// ForwardedCall: one stream of the front end (connection.h) passed to the gRPC server as a
// generic bidi call, whatever the method's kind (on the wire every gRPC call is a stream of
// messages each way). Request messages go in order, one write at a time; each answer message
// goes back to the connection, and the next is read only once the client's windows took the
// last (so a client that reads slowly slows the service down, not berthd's memory).
//
// Lifetime: gRPC frees its side of the call just before OnDone, so nothing may start an
// operation on the reactor after the call could have ended. Two holds (AddHold) keep it from
// ending while the connection may still start one: the write hold, until the half-close is
// started (after the client's, or as soon as the call failed, was cancelled or the service
// answered in full), and the read hold, while a read waits for the client's flow-control
// window. The object itself is shared: it lives until OnDone and until the connection lets go
// of it.

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/client_callback.h"
#include "plugins/base/http2/hpack.h"

namespace berth::front {

class Connection;
class CallCounter;

class ForwardedCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  // `headers` are the request's; those that are the caller's metadata go with the call.
  static std::shared_ptr<ForwardedCall> Create(std::shared_ptr<Connection> connection,
                                               uint32_t id, std::string method,
                                               const std::vector<http2::Header>& headers,
                                               CallCounter* alive);
  ~ForwardedCall() override;

  // All of these: any thread, never with the connection's lock held.
  void Start(grpc::GenericStub& stub);
  void Write(grpc::ByteBuffer message);
  void CloseWrites();  // after the writes queued so far
  void ResumeRead();  // only after SendMessage said to wait
  void Cancel();

  void OnReadInitialMetadataDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  ForwardedCall(std::shared_ptr<Connection> connection, uint32_t id, std::string method,
                CallCounter* alive);
  void AddMetadata(const std::vector<http2::Header>& headers);
  void WriteNext();  // starts the next write, or the half-close, if none is in flight
  // No more writes: those not started are dropped, and the half-close follows the one in
  // flight.
  void FinishWrites();

  std::shared_ptr<Connection> connection_;
  const uint32_t id_;
  const std::string method_;  // the call refers to it until it ends
  CallCounter* alive_;
  std::shared_ptr<ForwardedCall> self_;  // until OnDone
  grpc::ClientContext context_;
  grpc::ByteBuffer read_;

  absl::Mutex mu_;
  std::deque<grpc::ByteBuffer> writes_;  // front: in flight while writing_
  bool writing_ = false;
  bool close_writes_ = false;
  bool writes_closed_ = false;  // the half-close is started: nothing more on the write side
};

}  // namespace berth::front
