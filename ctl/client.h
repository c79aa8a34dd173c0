#pragma once

// The connection berthctl uses: its own HTTP/2 gRPC client (ctl/rpc) on the daemon's unix
// socket, dialled at the first call, and per-call options that carry the namespace header.
// Errors come back as absl::Status with the daemon's message, so commands print what the
// daemon said; an unreachable daemon gets a hint about --address.

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "ctl/rpc/call.h"
#include "ctl/rpc/connection.h"

namespace berth::ctl {

inline constexpr char kDefaultAddress[] = "/run/berth/berthd.sock";
inline constexpr char kDefaultNamespace[] = "default";

struct GlobalOptions {
  std::string address = kDefaultAddress;
  std::string ns = kDefaultNamespace;
  std::string format = "table";  // table | json
  int timeout_seconds = 30;
};

class Client {
 public:
  explicit Client(const GlobalOptions& options);
  ~Client();

  const GlobalOptions& options() const { return options_; }

  // The namespace header and the default deadline (--timeout).
  rpc::CallOptions Options() const;
  // The namespace header and no deadline, for calls that block until a process exits (Wait)
  // or take long (Create, Delete, pulls, archives). `lease` adds the containerd-lease header.
  rpc::CallOptions LongOptions(const std::string& lease = "") const;

  // A unary call. Errors as the daemon sent them, or Unavailable with the address hint.
  template <class Request, class Response>
  absl::Status Call(const rpc::Method<Request, Response>& method, const Request& request,
                    Response* response) {
    return Call(method, request, response, Options());
  }
  template <class Request, class Response>
  absl::Status Call(const rpc::Method<Request, Response>& method, const Request& request,
                    Response* response, const rpc::CallOptions& options) {
    return Explain(rpc::Unary(Connection(), dial_error_, method.path, options, request, response));
  }

  // A streaming call (client, server or both); its Finish status goes through Explain.
  template <class Request, class Response>
  std::unique_ptr<rpc::Call> Stream(const rpc::Method<Request, Response>& method,
                                    const rpc::CallOptions& options) {
    return std::make_unique<rpc::Call>(Connection(), dial_error_, method.path, options);
  }

  // Adds the address hint when the daemon could not be reached.
  absl::Status Explain(const absl::Status& status) const;

 private:
  http2::Connection* Connection();

  GlobalOptions options_;
  std::once_flag dialled_;
  std::unique_ptr<http2::Connection> connection_;
  absl::Status dial_error_;
};

}  // namespace berth::ctl
