#include "ctl/client.h"

#include <chrono>

#include "absl/strings/str_cat.h"

namespace berth::ctl {

Client::Client(const GlobalOptions& options) : options_(options) {}

Client::~Client() = default;

http2::Connection* Client::Connection() {
  std::call_once(dialled_, [this] {
    absl::StatusOr<std::unique_ptr<http2::Connection>> connection =
        http2::Connection::Dial(options_.address);
    if (connection.ok()) {
      connection_ = std::move(*connection);
    } else {
      dial_error_ = connection.status();
    }
  });
  return connection_.get();
}

rpc::CallOptions Client::Options() const {
  rpc::CallOptions options = LongOptions();
  options.deadline = http2::Clock::now() + std::chrono::seconds(options_.timeout_seconds);
  return options;
}

rpc::CallOptions Client::LongOptions(const std::string& lease) const {
  rpc::CallOptions options;
  options.metadata.push_back({"containerd-namespace", options_.ns});
  if (!lease.empty()) options.metadata.push_back({"containerd-lease", lease});
  return options;
}

absl::Status Client::Explain(const absl::Status& status) const {
  // Only our own failure to connect gets the hint: an Unavailable from the daemon (a locked
  // ingest ref, say) is the daemon's answer.
  if (dial_error_.ok() || status != dial_error_) return status;
  return absl::UnavailableError(absl::StrCat("cannot reach berthd at ", options_.address, ": ",
                                             status.message(),
                                             " (is berthd running? see --address)"));
}

}  // namespace berth::ctl
