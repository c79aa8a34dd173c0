#include "services/images/images_service.h"

#include "containerd/events/image.pb.h"
#include "containerd/services/images/v1/images.grpc.pb.h"
#include "plugins/base/status_macros.h"
#include "plugins/types.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/common/list_filter.h"
#include "services/events/exchange.h"
#include "services/gc/scheduler.h"
#include "services/metadata/metadata.h"

namespace berth::services {
namespace {

namespace api = containerd::services::images::v1;
using metadata::Image;

class ImagesService final : public api::Images::Service, public GrpcService {
 public:
  ImagesService(metadata::ImageStore& store, events::Exchange& exchange, gc::Scheduler* gc)
      : store_(store), exchange_(exchange), gc_(gc) {}
  grpc::Service* service() override { return this; }

  grpc::Status Get(grpc::ServerContext* context, const api::GetImageRequest* request,
                   api::GetImageResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      ASSIGN_OR_RETURN(*response->mutable_image(), store_.Get(ns, request->name()));
      return absl::OkStatus();
    }());
  }

  grpc::Status List(grpc::ServerContext* context, const api::ListImagesRequest* request,
                    api::ListImagesResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      ASSIGN_OR_RETURN(auto match, MakeListFilter<Image>(request->filters(), [](const Image& i) {
        return filters::AdaptFields({{"name", i.name()},
                                     {"target.digest", i.target().digest()},
                                     {"target.mediatype", i.target().media_type()}},
                                    i.labels());
      }));
      ASSIGN_OR_RETURN(std::vector<Image> images, store_.List(ns, match));
      for (auto& image : images) *response->add_images() = std::move(image);
      return absl::OkStatus();
    }());
  }

  grpc::Status Create(grpc::ServerContext* context, const api::CreateImageRequest* request,
                      api::CreateImageResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      ASSIGN_OR_RETURN(*response->mutable_image(), store_.Create(ns, request->image()));
      api::ImageCreate event;
      event.set_name(response->image().name());
      *event.mutable_labels() = response->image().labels();
      exchange_.Notify(ns, "/images/create", event);
      return absl::OkStatus();
    }());
  }

  grpc::Status Update(grpc::ServerContext* context, const api::UpdateImageRequest* request,
                      api::UpdateImageResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      std::vector<std::string> paths(request->update_mask().paths().begin(),
                                     request->update_mask().paths().end());
      ASSIGN_OR_RETURN(*response->mutable_image(), store_.Update(ns, request->image(), paths));
      api::ImageUpdate event;
      event.set_name(response->image().name());
      *event.mutable_labels() = response->image().labels();
      exchange_.Notify(ns, "/images/update", event);
      return absl::OkStatus();
    }());
  }

  grpc::Status Delete(grpc::ServerContext* context, const api::DeleteImageRequest* request,
                      google::protobuf::Empty*) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      RETURN_IF_ERROR(store_.Delete(ns, request->name()));
      api::ImageDelete event;
      event.set_name(request->name());
      exchange_.Notify(ns, "/images/delete", event);
      if (request->sync() && gc_ != nullptr) return gc_->ScheduleAndWait();
      return absl::OkStatus();
    }());
  }

 private:
  metadata::ImageStore& store_;
  events::Exchange& exchange_;
  gc::Scheduler* gc_;
};

}  // namespace

void RegisterImagesService(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kGrpcPlugin,
      .id = "images",
      .requires_types = {plugins::kMetadataPlugin, plugins::kEventPlugin, plugins::kGcPlugin},
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        ASSIGN_OR_RETURN(auto* db, context.Get<metadata::Metadata>(plugins::kMetadataPlugin));
        ASSIGN_OR_RETURN(auto* exchange, context.Get<events::Exchange>(plugins::kEventPlugin));
        absl::StatusOr<gc::GcPlugin*> gc = context.Get<gc::GcPlugin>(plugins::kGcPlugin);
        return plugins::Instance::Of<GrpcService>(std::make_unique<ImagesService>(
            db->images(), *exchange, gc.ok() ? (*gc)->scheduler.get() : nullptr));
      }});
}

}  // namespace berth::services
