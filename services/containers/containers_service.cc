#include "services/containers/containers_service.h"

#include "containerd/events/container.pb.h"
#include "containerd/services/containers/v1/containers.grpc.pb.h"
#include "plugins/base/status_macros.h"
#include "plugins/types.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/common/list_filter.h"
#include "services/common/wire_buffer.h"
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

// The reads are answered on the front end's fast path (fast_method.h), passing the stored
// records through as wire bytes (wire_buffer.h); the writes are synchronous gRPC handlers.
class ContainersService final : public api::Containers::Service, public GrpcService {
 public:
  ContainersService(metadata::ContainerStore& store, events::Exchange& exchange)
      : store_(store), exchange_(exchange) {}
  grpc::Service* service() override { return this; }

  std::vector<FastMethod> fast_methods() override {
    const std::string prefix = "/containerd.services.containers.v1.Containers/";
    return {{prefix + "Get", [this](auto&&... args) { return Get(args...); }},
            {prefix + "List", [this](auto&&... args) { return List(args...); }},
            {prefix + "ListStream", [this](auto&&... args) { return ListStream(args...); }}};
  }

  grpc::Status Get(const RequestHeaders& headers, std::string_view message, FramedReply& reply) {
    api::GetContainerRequest request;
    grpc::Status parsed = ParseRequest(message, request);
    if (!parsed.ok()) return parsed;
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(headers));
      ASSIGN_OR_RETURN(std::string record, store_.GetRecord(ns, request.id()));
      WireBuffer wire(record.size() + 16);  // + the field's tag and length
      wire.AppendBytesField(api::GetContainerResponse::kContainerFieldNumber, record);
      wire.EndMessage();
      reply = std::move(wire).Finish();
      return absl::OkStatus();
    }());
  }

  grpc::Status List(const RequestHeaders& headers, std::string_view message, FramedReply& reply) {
    return WalkRecords(headers, message, [](WireBuffer& wire, absl::string_view record) {
      wire.AppendBytesField(api::ListContainersResponse::kContainersFieldNumber, record);
    }, /*end_each=*/false, reply);
  }

  grpc::Status ListStream(const RequestHeaders& headers, std::string_view message,
                          FramedReply& reply) {
    return WalkRecords(headers, message, [](WireBuffer& wire, absl::string_view record) {
      wire.AppendBytesField(api::ListContainerMessage::kContainerFieldNumber, record);
    }, /*end_each=*/true, reply);
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
  // The records of the request's namespace that its filters select, as stored wire bytes.
  // The records a List request selects, each appended by `append`, as one message or (for
  // ListStream, `end_each`) one message per record.
  grpc::Status WalkRecords(const RequestHeaders& headers, std::string_view message,
                           void (*append)(WireBuffer&, absl::string_view), bool end_each,
                           FramedReply& reply) {
    api::ListContainersRequest request;
    grpc::Status parsed = ParseRequest(message, request);
    if (!parsed.ok()) return parsed;
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(headers));
      std::function<bool(const Container&)> match;  // none: every record, unparsed
      if (!request.filters().empty()) {
        ASSIGN_OR_RETURN(match, ContainerFilter(request.filters()));
      }
      WireBuffer wire;
      RETURN_IF_ERROR(store_.WalkRecords(ns, match, [&](absl::string_view record) {
        append(wire, record);
        if (end_each) wire.EndMessage();
      }));
      if (!end_each) wire.EndMessage();
      reply = std::move(wire).Finish();
      return absl::OkStatus();
    }());
  }

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
