#include "snapshotter/proxy/proxy_snapshotter.h"

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "snapshotter/proxy/convert.h"

namespace berth::snapshotter::proxy {
namespace {

namespace api = containerd::services::snapshots::v1;

constexpr int kMaxMessage = 16 << 20;

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

template <typename Map>
void SetLabels(const Labels& labels, Map* out) {
  for (const auto& [k, v] : labels) (*out)[k] = v;
}

}  // namespace

std::shared_ptr<grpc::Channel> DialUnix(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessage);
  args.SetMaxSendMessageSize(kMaxMessage);
  return grpc::CreateCustomChannel(absl::StrCat("unix:", address),
                                   grpc::InsecureChannelCredentials(), args);
}

ProxySnapshotter::ProxySnapshotter(std::shared_ptr<grpc::Channel> channel, std::string name)
    : channel_(std::move(channel)),
      stub_(api::Snapshots::NewStub(channel_)),
      name_(std::move(name)) {}

absl::StatusOr<SnapshotInfo> ProxySnapshotter::Stat(absl::string_view key) {
  grpc::ClientContext context;
  api::StatSnapshotRequest request;
  request.set_snapshotter(name_);
  request.set_key(std::string(key));
  api::StatSnapshotResponse response;
  if (absl::Status s = FromGrpc(stub_->Stat(&context, request, &response)); !s.ok()) return s;
  return FromProto(response.info());
}

absl::StatusOr<SnapshotInfo> ProxySnapshotter::Update(const SnapshotInfo& info,
                                                      absl::Span<const std::string> fieldpaths) {
  grpc::ClientContext context;
  api::UpdateSnapshotRequest request;
  request.set_snapshotter(name_);
  *request.mutable_info() = ToProto(info);
  for (const std::string& path : fieldpaths) request.mutable_update_mask()->add_paths(path);
  api::UpdateSnapshotResponse response;
  if (absl::Status s = FromGrpc(stub_->Update(&context, request, &response)); !s.ok()) return s;
  return FromProto(response.info());
}

absl::StatusOr<snapshotter::Usage> ProxySnapshotter::Usage(absl::string_view key) {
  grpc::ClientContext context;
  api::UsageRequest request;
  request.set_snapshotter(name_);
  request.set_key(std::string(key));
  api::UsageResponse response;
  if (absl::Status s = FromGrpc(stub_->Usage(&context, request, &response)); !s.ok()) return s;
  return snapshotter::Usage{.inodes = response.inodes(), .size = response.size()};
}

absl::StatusOr<std::vector<Mount>> ProxySnapshotter::Mounts(absl::string_view key) {
  grpc::ClientContext context;
  api::MountsRequest request;
  request.set_snapshotter(name_);
  request.set_key(std::string(key));
  api::MountsResponse response;
  if (absl::Status s = FromGrpc(stub_->Mounts(&context, request, &response)); !s.ok()) return s;
  return MountsFromProto(response.mounts());
}

absl::StatusOr<std::vector<Mount>> ProxySnapshotter::Prepare(absl::string_view key,
                                                             absl::string_view parent,
                                                             const Labels& labels) {
  grpc::ClientContext context;
  api::PrepareSnapshotRequest request;
  request.set_snapshotter(name_);
  request.set_key(std::string(key));
  request.set_parent(std::string(parent));
  SetLabels(labels, request.mutable_labels());
  api::PrepareSnapshotResponse response;
  if (absl::Status s = FromGrpc(stub_->Prepare(&context, request, &response)); !s.ok()) return s;
  return MountsFromProto(response.mounts());
}

absl::StatusOr<std::vector<Mount>> ProxySnapshotter::View(absl::string_view key,
                                                          absl::string_view parent,
                                                          const Labels& labels) {
  grpc::ClientContext context;
  api::ViewSnapshotRequest request;
  request.set_snapshotter(name_);
  request.set_key(std::string(key));
  request.set_parent(std::string(parent));
  SetLabels(labels, request.mutable_labels());
  api::ViewSnapshotResponse response;
  if (absl::Status s = FromGrpc(stub_->View(&context, request, &response)); !s.ok()) return s;
  return MountsFromProto(response.mounts());
}

absl::Status ProxySnapshotter::Commit(absl::string_view name, absl::string_view key,
                                      const Labels& labels) {
  grpc::ClientContext context;
  api::CommitSnapshotRequest request;
  request.set_snapshotter(name_);
  request.set_name(std::string(name));
  request.set_key(std::string(key));
  SetLabels(labels, request.mutable_labels());
  google::protobuf::Empty response;
  return FromGrpc(stub_->Commit(&context, request, &response));
}

absl::Status ProxySnapshotter::Remove(absl::string_view key) {
  grpc::ClientContext context;
  api::RemoveSnapshotRequest request;
  request.set_snapshotter(name_);
  request.set_key(std::string(key));
  google::protobuf::Empty response;
  return FromGrpc(stub_->Remove(&context, request, &response));
}

absl::Status ProxySnapshotter::Walk(absl::FunctionRef<absl::Status(const SnapshotInfo&)> fn) {
  grpc::ClientContext context;
  api::ListSnapshotsRequest request;
  request.set_snapshotter(name_);
  std::unique_ptr<grpc::ClientReader<api::ListSnapshotsResponse>> reader =
      stub_->List(&context, request);
  api::ListSnapshotsResponse batch;
  absl::Status inner;
  while (inner.ok() && reader->Read(&batch)) {
    for (const api::Info& info : batch.info()) {
      inner = fn(FromProto(info));
      if (!inner.ok()) break;
    }
  }
  if (!inner.ok()) {
    context.TryCancel();
    (void)reader->Finish();
    return inner;
  }
  return FromGrpc(reader->Finish());
}

absl::Status ProxySnapshotter::Cleanup() {
  grpc::ClientContext context;
  api::CleanupRequest request;
  request.set_snapshotter(name_);
  google::protobuf::Empty response;
  return FromGrpc(stub_->Cleanup(&context, request, &response));
}

}  // namespace berth::snapshotter::proxy
