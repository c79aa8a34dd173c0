#include "services/diff/diff_service.h"

#include "absl/strings/str_cat.h"
#include "containerd/services/diff/v1/diff.grpc.pb.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/types.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/diff/applier.h"
#include "services/diff/write_diff.h"
#include "services/metadata/metadata.h"
#include "snapshotter/proxy/convert.h"

namespace berth::services {
namespace {

namespace api = containerd::services::diff::v1;

constexpr char kUncompressedLabel[] = "containerd.io/uncompressed";

// The walking differ over the namespaced content store.
class Differ {
 public:
  Differ(metadata::ContentMetadata& content, diff::ApplyConfig config)
      : content_(content), config_(std::move(config)) {}

  absl::StatusOr<diff::AppliedLayer> Apply(const std::string& ns,
                                           const containerd::types::Descriptor& desc,
                                           const std::vector<snapshotter::Mount>& mounts) {
    ASSIGN_OR_RETURN(content::Digest digest, content::Digest::Parse(desc.digest()));
    ASSIGN_OR_RETURN(std::unique_ptr<content::ContentReader> reader,
                     content_.OpenReader(ns, desc.digest()));
    int64_t offset = 0;
    auto read = [&reader, offset](absl::Span<char> buf) mutable -> absl::StatusOr<size_t> {
      ASSIGN_OR_RETURN(size_t n, reader->ReadAt(offset, buf));
      offset += static_cast<int64_t>(n);
      return n;
    };
    return diff::ApplyLayer(mounts, desc.media_type(), digest, read, config_);
  }

  absl::StatusOr<containerd::types::Descriptor> Diff(const std::string& ns,
                                                     const std::optional<std::string>& lease,
                                                     const api::DiffRequest& request) {
    std::string media_type = request.media_type().empty()
                                 ? std::string(diff::LayerMediaType(diff::Compression::kGzip))
                                 : request.media_type();
    ASSIGN_OR_RETURN(diff::Compression compression, diff::CompressionOf(media_type));
    std::string ref = request.ref().empty()
                          ? absl::StrCat("diff-", absl::ToUnixNanos(absl::Now()))
                          : request.ref();
    ASSIGN_OR_RETURN(std::unique_ptr<metadata::NamespacedWriter> writer,
                     content_.OpenWriter(metadata::WriteContext{ns, lease}, ref, 0, ""));
    ASSIGN_OR_RETURN(diff::WrittenLayer layer,
                     diff::WriteLayer(snapshotter::MountsFromProto(request.left()),
                                      snapshotter::MountsFromProto(request.right()), compression,
                                      [&](absl::string_view data) { return writer->Write(data); },
                                      config_.temp_mount_dir));
    content::Labels labels(request.labels().begin(), request.labels().end());
    labels[kUncompressedLabel] = layer.uncompressed.string();
    absl::Status committed = writer->Commit(layer.size, layer.digest, labels);
    if (!committed.ok() && !absl::IsAlreadyExists(committed)) return committed;
    containerd::types::Descriptor desc;
    desc.set_media_type(media_type);
    desc.set_digest(layer.digest.string());
    desc.set_size(layer.size);
    return desc;
  }

 private:
  metadata::ContentMetadata& content_;
  const diff::ApplyConfig config_;
};

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
