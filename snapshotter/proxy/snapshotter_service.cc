#include "snapshotter/proxy/snapshotter_service.h"

#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "absl/strings/str_cat.h"
#include "plugins/base/filters.h"
#include "snapshotter/proxy/convert.h"

namespace berth::snapshotter::proxy {
namespace {

namespace api = containerd::services::snapshots::v1;

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::string_view FilterKind(Kind kind) {
  switch (kind) {
    case Kind::kActive: return "active";
    case Kind::kView: return "view";
    case Kind::kCommitted: return "committed";
    default: return "";
  }
}

class SnapshotterService final : public api::Snapshots::Service {
 public:
  explicit SnapshotterService(Snapshotter& backend) : sn_(backend) {}

  grpc::Status Prepare(grpc::ServerContext*, const api::PrepareSnapshotRequest* request,
                       api::PrepareSnapshotResponse* response) override {
    auto mounts = sn_.Prepare(request->key(), request->parent(),
                              LabelsFromProto(request->labels()));
    if (!mounts.ok()) return ToGrpc(mounts.status());
    AppendMounts(*mounts, response->mutable_mounts());
    return grpc::Status::OK;
  }

  grpc::Status View(grpc::ServerContext*, const api::ViewSnapshotRequest* request,
                    api::ViewSnapshotResponse* response) override {
    auto mounts = sn_.View(request->key(), request->parent(), LabelsFromProto(request->labels()));
    if (!mounts.ok()) return ToGrpc(mounts.status());
    AppendMounts(*mounts, response->mutable_mounts());
    return grpc::Status::OK;
  }

  grpc::Status Mounts(grpc::ServerContext*, const api::MountsRequest* request,
                      api::MountsResponse* response) override {
    auto mounts = sn_.Mounts(request->key());
    if (!mounts.ok()) return ToGrpc(mounts.status());
    AppendMounts(*mounts, response->mutable_mounts());
    return grpc::Status::OK;
  }

  grpc::Status Commit(grpc::ServerContext*, const api::CommitSnapshotRequest* request,
                      google::protobuf::Empty*) override {
    return ToGrpc(sn_.Commit(request->name(), request->key(), LabelsFromProto(request->labels())));
  }

  grpc::Status Remove(grpc::ServerContext*, const api::RemoveSnapshotRequest* request,
                      google::protobuf::Empty*) override {
    return ToGrpc(sn_.Remove(request->key()));
  }

  grpc::Status Stat(grpc::ServerContext*, const api::StatSnapshotRequest* request,
                    api::StatSnapshotResponse* response) override {
    auto info = sn_.Stat(request->key());
    if (!info.ok()) return ToGrpc(info.status());
    *response->mutable_info() = ToProto(*info);
    return grpc::Status::OK;
  }

  grpc::Status Update(grpc::ServerContext*, const api::UpdateSnapshotRequest* request,
                      api::UpdateSnapshotResponse* response) override {
    std::vector<std::string> paths(request->update_mask().paths().begin(),
                                   request->update_mask().paths().end());
    auto info = sn_.Update(FromProto(request->info()), paths);
    if (!info.ok()) return ToGrpc(info.status());
    *response->mutable_info() = ToProto(*info);
    return grpc::Status::OK;
  }

  grpc::Status List(grpc::ServerContext*, const api::ListSnapshotsRequest* request,
                    grpc::ServerWriter<api::ListSnapshotsResponse>* writer) override {
    absl::StatusOr<filters::Filter> filter = filters::ParseAny(request->filters());
    if (!filter.ok()) {
      return ToGrpc(absl::InvalidArgumentError(
          absl::StrCat("failed to parse filters: ", filter.status().message())));
    }
    api::ListSnapshotsResponse batch;
    absl::Status status = sn_.Walk([&](const SnapshotInfo& info) -> absl::Status {
      if (!filter->MatchesAll()) {
        auto adaptor = filters::AdaptFields(
            {{"kind", FilterKind(info.kind)}, {"name", info.name}, {"parent", info.parent}},
            info.labels);
        if (!filter->Match(adaptor)) return absl::OkStatus();
      }
      *batch.add_info() = ToProto(info);
      return absl::OkStatus();
    });
    if (!status.ok()) return ToGrpc(status);
    // Batches of 100, as the daemon sends them.
    api::ListSnapshotsResponse out;
    for (int i = 0; i < batch.info_size(); ++i) {
      *out.add_info() = batch.info(i);
      if (out.info_size() == 100 || i + 1 == batch.info_size()) {
        if (!writer->Write(out)) return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
        out.clear_info();
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status Usage(grpc::ServerContext*, const api::UsageRequest* request,
                     api::UsageResponse* response) override {
    auto usage = sn_.Usage(request->key());
    if (!usage.ok()) return ToGrpc(usage.status());
    response->set_size(usage->size);
    response->set_inodes(usage->inodes);
    return grpc::Status::OK;
  }

  grpc::Status Cleanup(grpc::ServerContext*, const api::CleanupRequest*,
                       google::protobuf::Empty*) override {
    return ToGrpc(sn_.Cleanup());
  }

 private:
  Snapshotter& sn_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewSnapshotterService(Snapshotter& backend) {
  return std::make_unique<SnapshotterService>(backend);
}

}  // namespace berth::snapshotter::proxy
