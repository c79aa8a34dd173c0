#include "services/diff/diff_service.h"

#include "absl/strings/str_cat.h"
#include "containerd/services/diff/v1/diff.grpc.pb.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/types.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/diff/differ.h"
#include "services/metadata/metadata.h"
#include "snapshotter/proxy/convert.h"

namespace berth::services {
namespace {

namespace api = containerd::services::diff::v1;

class DiffService final : public api::Diff::Service, public GrpcService {
 public:
  explicit DiffService(Differ& differ) : differ_(differ) {}
  grpc::Service* service() override { return this; }

  grpc::Status Apply(grpc::ServerContext* context, const api::ApplyRequest* request,
                     api::ApplyResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      ASSIGN_OR_RETURN(diff::AppliedLayer applied,
                       differ_.Apply(ns, request->diff(),
                                     snapshotter::MountsFromProto(request->mounts())));
      response->mutable_applied()->set_media_type(applied.media_type);
      response->mutable_applied()->set_digest(applied.digest.string());
      response->mutable_applied()->set_size(applied.size);
      return absl::OkStatus();
    }());
  }

  grpc::Status Diff(grpc::ServerContext* context, const api::DiffRequest* request,
                    api::DiffResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      ASSIGN_OR_RETURN(*response->mutable_diff(),
                       differ_.Diff(ns, LeaseFromContext(*context), *request));
      return absl::OkStatus();
    }());
  }

 private:
  Differ& differ_;
};

}  // namespace

void RegisterDiffService(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kDiffPlugin,
      .id = "walking",
      .requires_types = {plugins::kMetadataPlugin},
      .default_config = "allow_devices = true\nmax_layer_size = 0\n",
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        ASSIGN_OR_RETURN(auto* md, context.Get<metadata::Metadata>(plugins::kMetadataPlugin));
        if (md->content() == nullptr) {
          return plugins::SkipPlugin("no content store is loaded");
        }
        diff::ApplyConfig config;
        config.allow_devices = context.config()["allow_devices"].value_or(true);
        config.max_layer_bytes = context.config()["max_layer_size"].value_or(int64_t{0});
        config.temp_mount_dir = context.state() + "/tmpmounts";
        RETURN_IF_ERROR(MkdirAll(config.temp_mount_dir, 0700));
        return plugins::Instance::Of(std::make_unique<Differ>(*md->content(), config));
      }});
  (void)registry.Register(plugins::Registration{
      .type = plugins::kGrpcPlugin,
      .id = "diff",
      .requires_types = {plugins::kDiffPlugin},
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        ASSIGN_OR_RETURN(Differ * differ, context.Get<Differ>(plugins::kDiffPlugin));
        return plugins::Instance::Of<GrpcService>(std::make_unique<DiffService>(*differ));
      }});
}

}  // namespace berth::services
