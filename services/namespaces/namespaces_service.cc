#include "services/namespaces/namespaces_service.h"

#include "containerd/events/namespace.pb.h"
#include "containerd/services/namespaces/v1/namespaces.grpc.pb.h"
#include "plugins/base/status_macros.h"
#include "plugins/types.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/events/exchange.h"
#include "services/metadata/metadata.h"

namespace berth::services {
namespace {

namespace api = containerd::services::namespaces::v1;

// Namespace events go out in the caller's namespace, as containerd publishes them; a caller
// without one (our own clients may omit it) publishes in the namespace being changed.
std::string EventNamespace(const grpc::ServerContextBase& context, const std::string& name) {
  absl::StatusOr<std::string> ns = RequireNamespace(context);
  return ns.ok() ? *ns : name;
}

class NamespacesService final : public api::Namespaces::Service, public GrpcService {
 public:
  NamespacesService(metadata::NamespaceStore& store, events::Exchange& exchange)
      : store_(store), exchange_(exchange) {}
  grpc::Service* service() override { return this; }

  grpc::Status Get(grpc::ServerContext*, const api::GetNamespaceRequest* request,
                   api::GetNamespaceResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(*response->mutable_namespace_(), store_.Get(request->name()));
      return absl::OkStatus();
    }());
  }

  grpc::Status List(grpc::ServerContext*, const api::ListNamespacesRequest*,
                    api::ListNamespacesResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::vector<metadata::Namespace> all, store_.List());
      for (auto& ns : all) *response->add_namespaces() = std::move(ns);
      return absl::OkStatus();
    }());
  }

  grpc::Status Create(grpc::ServerContext* context, const api::CreateNamespaceRequest* request,
                      api::CreateNamespaceResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      RETURN_IF_ERROR(store_.Create(request->namespace_()));
      ASSIGN_OR_RETURN(*response->mutable_namespace_(), store_.Get(request->namespace_().name()));
      containerd::events::NamespaceCreate event;
      event.set_name(response->namespace_().name());
      *event.mutable_labels() = response->namespace_().labels();
      exchange_.Notify(EventNamespace(*context, event.name()), "/namespaces/create", event);
      return absl::OkStatus();
    }());
  }

  grpc::Status Update(grpc::ServerContext* context, const api::UpdateNamespaceRequest* request,
                      api::UpdateNamespaceResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      std::vector<std::string> paths(request->update_mask().paths().begin(),
                                     request->update_mask().paths().end());
      ASSIGN_OR_RETURN(*response->mutable_namespace_(),
                       store_.Update(request->namespace_(), paths));
      containerd::events::NamespaceUpdate event;
      event.set_name(response->namespace_().name());
      *event.mutable_labels() = response->namespace_().labels();
      exchange_.Notify(EventNamespace(*context, event.name()), "/namespaces/update", event);
      return absl::OkStatus();
    }());
  }

  grpc::Status Delete(grpc::ServerContext* context, const api::DeleteNamespaceRequest* request,
                      google::protobuf::Empty*) override {
    return ToGrpc([&]() -> absl::Status {
      RETURN_IF_ERROR(store_.Delete(request->name()));
      containerd::events::NamespaceDelete event;
      event.set_name(request->name());
      exchange_.Notify(EventNamespace(*context, request->name()), "/namespaces/delete", event);
      return absl::OkStatus();
    }());
  }

 private:
  metadata::NamespaceStore& store_;
  events::Exchange& exchange_;
};

}  // namespace

void RegisterNamespacesService(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kGrpcPlugin,
      .id = "namespaces",
      .requires_types = {plugins::kMetadataPlugin, plugins::kEventPlugin},
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        ASSIGN_OR_RETURN(auto* db, context.Get<metadata::Metadata>(plugins::kMetadataPlugin));
        ASSIGN_OR_RETURN(auto* exchange, context.Get<events::Exchange>(plugins::kEventPlugin));
        return plugins::Instance::Of<GrpcService>(
            std::make_unique<NamespacesService>(db->namespaces(), *exchange));
      }});
}

}  // namespace berth::services
