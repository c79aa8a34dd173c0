#include "services/archive/archive_service.h"

#include "berth/services/images/v1/archive.grpc.pb.h"
#include "containerd/events/image.pb.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/types.h"
#include "services/archive/exporter.h"
#include "services/archive/importer.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/events/exchange.h"
#include "services/metadata/metadata.h"
#include "services/unpack/unpacker.h"

namespace berth::services {
namespace {

namespace api = berth::services::images::v1;

constexpr size_t kExportChunk = 1 << 20;

class ArchiveService final : public api::Archive::Service, public GrpcService {
 public:
  ArchiveService(metadata::Metadata& db, events::Exchange& exchange, unpack::Unpacker* unpacker)
      : db_(db), exchange_(exchange), unpacker_(unpacker) {}
  grpc::Service* service() override { return this; }

  grpc::Status Import(grpc::ServerContext* context, grpc::ServerReader<api::ImportRequest>* reader,
                      api::ImportResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      api::ImportRequest request;
      bool first = true;
      bool unpack = false;
      std::string snapshotter;
      auto source = [&]() -> absl::StatusOr<absl::string_view> {
        do {
          if (!reader->Read(&request)) return absl::string_view();
          if (first) {
            unpack = request.unpack();
            snapshotter = request.snapshotter();
            first = false;
          }
        } while (request.data().empty());
        return absl::string_view(request.data());
      };
      ASSIGN_OR_RETURN(std::unique_ptr<archive::TarReader> tar, archive::TarReader::Open(source));
      archive::Importer importer(Stores(), ns);
      ASSIGN_OR_RETURN(std::vector<metadata::Image> images, importer.Import(*tar));
      for (auto& image : images) {
        containerd::services::images::v1::ImageCreate event;
        event.set_name(image.name());
        *event.mutable_labels() = image.labels();
        exchange_.Notify(ns, "/images/create", event);
        *response->add_images() = std::move(image);
      }
      if (!unpack) return absl::OkStatus();
      for (const metadata::Image& image : response->images()) {
        RETURN_IF_ERROR(Annotate(UnpackImage(ns, image, snapshotter).status(),
                                 absl::StrCat("imported ", image.name(), " but")));
      }
      return absl::OkStatus();
    }());
  }

  grpc::Status Unpack(grpc::ServerContext* context, const api::UnpackRequest* request,
                      api::UnpackResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      ASSIGN_OR_RETURN(metadata::Image image, db_.images().Get(ns, request->name()));
      ASSIGN_OR_RETURN(unpack::UnpackResult result,
                       UnpackImage(ns, image, request->snapshotter()));
      response->set_chain_id(result.chain_id);
      response->set_layers_applied(result.layers_applied);
      response->set_layers_reused(result.layers_reused);
      return absl::OkStatus();
    }());
  }

  grpc::Status Export(grpc::ServerContext* context, const api::ExportRequest* request,
                      grpc::ServerWriter<api::ExportResponse>* writer) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      archive::ArchiveFormat format;
      if (request->format().empty() || request->format() == "docker-archive" ||
          request->format() == "docker") {
        format = archive::ArchiveFormat::kDockerArchive;
      } else if (request->format() == "oci" || request->format() == "oci-archive") {
        format = archive::ArchiveFormat::kOciLayout;
      } else {
        return InvalidArgument(absl::StrCat("export: unknown format \"", request->format(), "\""));
      }
      api::ExportResponse chunk;
      auto flush = [&]() -> absl::Status {
        if (chunk.data().empty()) return absl::OkStatus();
        if (!writer->Write(chunk)) return absl::CancelledError("client went away while exporting");
        chunk.clear_data();
        return absl::OkStatus();
      };
      auto sink = [&](absl::string_view data) -> absl::Status {
        chunk.mutable_data()->append(data.data(), data.size());
        return chunk.data().size() >= kExportChunk ? flush() : absl::OkStatus();
      };
      ASSIGN_OR_RETURN(std::unique_ptr<archive::TarWriter> tar, archive::TarWriter::Open(sink));
      std::vector<std::string> names(request->names().begin(), request->names().end());
      archive::Exporter exporter(Stores(), ns);
      RETURN_IF_ERROR(exporter.Export(names, format, *tar));
      return flush();
    }());
  }

 private:
  archive::Stores Stores() { return {*db_.content(), db_.images(), db_.leases()}; }

  absl::StatusOr<unpack::UnpackResult> UnpackImage(const std::string& ns,
                                                   const metadata::Image& image,
                                                   const std::string& snapshotter) {
    if (unpacker_ == nullptr) return absl::UnimplementedError("unpack: no unpacker is loaded");
    unpack::UnpackRequest request;
    request.ns = ns;
    request.target = image.target();
    request.snapshotter = snapshotter;
    return unpacker_->Unpack(request);
  }

  metadata::Metadata& db_;
  events::Exchange& exchange_;
  unpack::Unpacker* unpacker_;  // null when the unpack plugin was skipped
};

}  // namespace

void RegisterArchiveService(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kGrpcPlugin,
      .id = "archive",
      .requires_types = {plugins::kMetadataPlugin, plugins::kEventPlugin,
                         plugins::kInternalPlugin},
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        ASSIGN_OR_RETURN(auto* db, context.Get<metadata::Metadata>(plugins::kMetadataPlugin));
        ASSIGN_OR_RETURN(auto* exchange, context.Get<events::Exchange>(plugins::kEventPlugin));
        if (db->content() == nullptr) return plugins::SkipPlugin("no content store loaded");
        absl::StatusOr<unpack::Unpacker*> unpacker =
            context.GetById<unpack::Unpacker>(plugins::kInternalPlugin, "unpack");
        return plugins::Instance::Of<GrpcService>(std::make_unique<ArchiveService>(
            *db, *exchange, unpacker.ok() ? *unpacker : nullptr));
      }});
}

}  // namespace berth::services
