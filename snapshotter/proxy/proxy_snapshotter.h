#pragma once

// ProxySnapshotter: a Snapshotter that forwards every call over containerd's snapshots gRPC
// API (containerd.services.snapshots.v1.Snapshots) to an external process, as containerd's
// snapshots/proxy does for [proxy_plugins.<name>] type = "snapshot". Each request carries
// `snapshotter = <name>`; keys are passed through unchanged (the metadata layer above has
// already namespaced them) and no namespace header is sent.
//
// The connection is made lazily by gRPC and re-established after failures; a call while the
// process is down fails with kUnavailable. Errors come back with the remote's code and message.

#include <memory>
#include <string>
#include <vector>

#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "grpcpp/channel.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter::proxy {

// A channel to unix socket `address` with containerd's 16 MiB message limits.
std::shared_ptr<grpc::Channel> DialUnix(const std::string& address);

class ProxySnapshotter final : public Snapshotter {
 public:
  ProxySnapshotter(std::shared_ptr<grpc::Channel> channel, std::string name);

  absl::StatusOr<SnapshotInfo> Stat(absl::string_view key) override;
  absl::StatusOr<SnapshotInfo> Update(const SnapshotInfo& info,
                                      absl::Span<const std::string> fieldpaths) override;
  absl::StatusOr<snapshotter::Usage> Usage(absl::string_view key) override;
  absl::StatusOr<std::vector<Mount>> Mounts(absl::string_view key) override;
  absl::StatusOr<std::vector<Mount>> Prepare(absl::string_view key, absl::string_view parent,
                                             const Labels& labels) override;
  absl::StatusOr<std::vector<Mount>> View(absl::string_view key, absl::string_view parent,
                                          const Labels& labels) override;
  absl::Status Commit(absl::string_view name, absl::string_view key, const Labels& labels) override;
  absl::Status Remove(absl::string_view key) override;
  absl::Status Walk(absl::FunctionRef<absl::Status(const SnapshotInfo&)> fn) override;
  absl::Status Cleanup() override;

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<containerd::services::snapshots::v1::Snapshots::Stub> stub_;
  const std::string name_;
};

}  // namespace berth::snapshotter::proxy
