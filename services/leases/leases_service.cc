#include "services/leases/leases_service.h"

#include "containerd/services/leases/v1/leases.grpc.pb.h"
#include "plugins/base/status_macros.h"
#include "plugins/types.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/common/list_filter.h"
#include "services/gc/scheduler.h"
#include "services/metadata/metadata.h"

namespace berth::services {
namespace {

namespace api = containerd::services::leases::v1;

class LeasesService final : public api::Leases::Service, public GrpcService {
 public:
  LeasesService(metadata::LeaseStore& store, gc::Scheduler* gc) : store_(store), gc_(gc) {}
  grpc::Service* service() override { return this; }

  grpc::Status Create(grpc::ServerContext* context, const api::CreateRequest* request,
                      api::CreateResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      metadata::Lease lease;
      lease.set_id(request->id().empty() ? metadata::GenerateLeaseId() : request->id());
      *lease.mutable_labels() = request->labels();
      ASSIGN_OR_RETURN(*response->mutable_lease(), store_.Create(ns, std::move(lease)));
      return absl::OkStatus();
    }());
  }

  grpc::Status Delete(grpc::ServerContext* context, const api::DeleteRequest* request,
                      google::protobuf::Empty*) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      RETURN_IF_ERROR(store_.Delete(ns, request->id()));
      if (gc_ != nullptr) gc_->Mutated(/*deletion=*/true);
      if (request->sync() && gc_ != nullptr) return gc_->ScheduleAndWait();
      return absl::OkStatus();
    }());
  }

  grpc::Status List(grpc::ServerContext* context, const api::ListRequest* request,
                    api::ListResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      ASSIGN_OR_RETURN(auto match,
                       MakeListFilter<metadata::Lease>(request->filters(), [](const auto& lease) {
                         return filters::AdaptFields({{"id", lease.id()}}, lease.labels());
                       }));
      ASSIGN_OR_RETURN(std::vector<metadata::Lease> leases, store_.List(ns, match));
      for (auto& lease : leases) *response->add_leases() = std::move(lease);
      return absl::OkStatus();
    }());
  }

  grpc::Status AddResource(grpc::ServerContext* context, const api::AddResourceRequest* request,
                           google::protobuf::Empty*) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      return store_.AddResource(ns, request->id(), request->resource());
    }());
  }

  grpc::Status DeleteResource(grpc::ServerContext* context,
                              const api::DeleteResourceRequest* request,
                              google::protobuf::Empty*) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      return store_.DeleteResource(ns, request->id(), request->resource());
    }());
  }

  grpc::Status ListResources(grpc::ServerContext* context,
                             const api::ListResourcesRequest* request,
                             api::ListResourcesResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      ASSIGN_OR_RETURN(std::vector<metadata::LeaseResource> resources,
                       store_.ListResources(ns, request->id()));
      for (auto& resource : resources) *response->add_resources() = std::move(resource);
      return absl::OkStatus();
    }());
  }

 private:
  metadata::LeaseStore& store_;
  gc::Scheduler* gc_;  // null without a gc plugin
};

}  // namespace

void RegisterLeasesService(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kGrpcPlugin,
      .id = "leases",
      .requires_types = {plugins::kMetadataPlugin, plugins::kGcPlugin},
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        ASSIGN_OR_RETURN(auto* db, context.Get<metadata::Metadata>(plugins::kMetadataPlugin));
        absl::StatusOr<gc::GcPlugin*> gc = context.Get<gc::GcPlugin>(plugins::kGcPlugin);
        return plugins::Instance::Of<GrpcService>(std::make_unique<LeasesService>(
            db->leases(), gc.ok() ? (*gc)->scheduler.get() : nullptr));
      }});
}

}  // namespace berth::services
