#include "services/containers/containers_service.h"

#include "containerd/events/container.pb.h"
#include "containerd/services/containers/v1/containers.grpc.pb.h"
#include "plugins/base/status_macros.h"
#include "plugins/types.h"
#include "services/common/grpc_service.h"
#include "services/common/raw_unary.h"
#include "services/common/grpc_status.h"
#include "services/common/list_filter.h"
#include "services/events/exchange.h"
#include "services/metadata/metadata.h"

namespace berth::services {
namespace {

namespace api = containerd::services::containers::v1;
using metadata::Container;

absl::StatusOr<std::function<bool(const Container&)>> ContainerFilter(
    const google::protobuf::RepeatedPtrField<std::string>& expressions) {
  return MakeListFilter<Container>(expressions, [](const Container& c) {
    return filters::AdaptFields({{"id", c.id()},
                                 {"image", c.image()},
                                 {"runtime.name", c.runtime().name()},
                                 {"snapshotter", c.snapshotter()}},
                                c.labels());
  });
}

// Get, the hot unary call, runs on the callback API (raw_unary.h); the rest is synchronous.
class ContainersService final
    : public api::Containers::WithRawCallbackMethod_Get<api::Containers::Service>,
      public GrpcService {
 public:
  ContainersService(metadata::ContainerStore& store, events::Exchange& exchange)
      : store_(store), exchange_(exchange) {}
  grpc::Service* service() override { return this; }

  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context,
                                const grpc::ByteBuffer* raw_request,
                                grpc::ByteBuffer* raw_response) override {
    return RawUnary<api::GetContainerRequest, api::GetContainerResponse>(
        context, raw_request, raw_response,
        [&](const api::GetContainerRequest& request, api::GetContainerResponse& response) {
          return ToGrpc([&]() -> absl::Status {
            ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
            ASSIGN_OR_RETURN(*response.mutable_container(), store_.Get(ns, request.id()));
            return absl::OkStatus();
          }());
        });
  }

  grpc::Status List(grpc::ServerContext* context, const api::ListContainersRequest* request,
                    api::ListContainersResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      ASSIGN_OR_RETURN(auto match, ContainerFilter(request->filters()));
      return store_.Walk(ns, match, [&](Container& container) {
        response->add_containers()->Swap(&container);
        return true;
      });
    }());
  }

  grpc::Status ListStream(grpc::ServerContext* context,
                          const api::ListContainersRequest* request,
                          grpc::ServerWriter<api::ListContainerMessage>* writer) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      ASSIGN_OR_RETURN(auto match, ContainerFilter(request->filters()));
      absl::Status write_status;
      RETURN_IF_ERROR(store_.Walk(ns, match, [&](Container& container) {
        api::ListContainerMessage message;
        message.mutable_container()->Swap(&container);
        if (!writer->Write(message)) {
          write_status = absl::CancelledError("client went away while listing containers");
          return false;
        }
        return true;
      }));
      return write_status;
    }());
  }

  grpc::Status Create(grpc::ServerContext* context, const api::CreateContainerRequest* request,
                      api::CreateContainerResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      ASSIGN_OR_RETURN(*response->mutable_container(), store_.Create(ns, request->container()));
      const Container& created = response->container();
      containerd::events::ContainerCreate event;
      event.set_id(created.id());
      event.set_image(created.image());
      event.mutable_runtime()->set_name(created.runtime().name());
      if (created.runtime().has_options()) {
        *event.mutable_runtime()->mutable_options() = created.runtime().options();
      }
      exchange_.Notify(ns, "/containers/create", event);
      return absl::OkStatus();
    }());
  }

  grpc::Status Update(grpc::ServerContext* context, const api::UpdateContainerRequest* request,
                      api::UpdateContainerResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      std::vector<std::string> paths(request->update_mask().paths().begin(),
                                     request->update_mask().paths().end());
      ASSIGN_OR_RETURN(*response->mutable_container(),
                       store_.Update(ns, request->container(), paths));
      const Container& updated = response->container();
      containerd::events::ContainerUpdate event;
      event.set_id(updated.id());
      event.set_image(updated.image());
      *event.mutable_labels() = updated.labels();
      event.set_snapshot_key(updated.snapshot_key());
      exchange_.Notify(ns, "/containers/update", event);
      return absl::OkStatus();
    }());
  }

  grpc::Status Delete(grpc::ServerContext* context, const api::DeleteContainerRequest* request,
                      google::protobuf::Empty*) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      RETURN_IF_ERROR(store_.Delete(ns, request->id()));
      containerd::events::ContainerDelete event;
      event.set_id(request->id());
      exchange_.Notify(ns, "/containers/delete", event);
      return absl::OkStatus();
    }());
  }

 private:
  metadata::ContainerStore& store_;
  events::Exchange& exchange_;
};

}  // namespace

void RegisterContainersService(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kGrpcPlugin,
      .id = "containers",
      .requires_types = {plugins::kMetadataPlugin, plugins::kEventPlugin},
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        ASSIGN_OR_RETURN(auto* db, context.Get<metadata::Metadata>(plugins::kMetadataPlugin));
        ASSIGN_OR_RETURN(auto* exchange, context.Get<events::Exchange>(plugins::kEventPlugin));
        return plugins::Instance::Of<GrpcService>(
            std::make_unique<ContainersService>(db->containers(), *exchange));
      }});
}

}  // namespace berth::services
