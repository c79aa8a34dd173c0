#include "services/snapshots/snapshots_service.h"

#include "containerd/events/snapshot.pb.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "plugins/base/status_macros.h"
#include "plugins/types.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/common/list_filter.h"
#include "services/events/exchange.h"
#include "services/metadata/metadata.h"
#include "services/gc/scheduler.h"
#include "services/metadata/snapshots.h"
#include "snapshotter/proxy/convert.h"

namespace berth::services {
namespace {

namespace api = containerd::services::snapshots::v1;
using metadata::SnapshotStore;
using snapshotter::LabelsFromProto;
using snapshotter::SnapshotInfo;

constexpr int kListBatch = 100;

// The values containerd's snapshot filter adaptor gives the `kind` field.
absl::string_view FilterKind(snapshotter::Kind kind) {
  switch (kind) {
    case snapshotter::Kind::kActive: return "active";
    case snapshotter::Kind::kView: return "view";
    case snapshotter::Kind::kCommitted: return "committed";
    default: return "";
  }
}

absl::StatusOr<std::function<bool(const SnapshotInfo&)>> SnapshotFilter(
    const google::protobuf::RepeatedPtrField<std::string>& expressions) {
  return MakeListFilter<SnapshotInfo>(expressions, [](const SnapshotInfo& s) {
    return filters::AdaptFields({{"kind", FilterKind(s.kind)},
                                 {"name", s.name},
                                 {"parent", s.parent}},
                                s.labels);
  });
}

class SnapshotsService final : public api::Snapshots::Service, public GrpcService {
 public:
  SnapshotsService(metadata::SnapshotStores& stores, events::Exchange& exchange)
      : stores_(stores), exchange_(exchange) {}
  grpc::Service* service() override { return this; }

  // Runs `fn` with the request's namespace and store, converting the result for gRPC.
  template <typename Request, typename Fn>
  grpc::Status Handle(grpc::ServerContext* context, const Request& request, Fn fn) {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      ASSIGN_OR_RETURN(SnapshotStore * store, stores_.Get(request.snapshotter()));
      return fn(ns, *store);
    }());
  }

  grpc::Status Prepare(grpc::ServerContext* context, const api::PrepareSnapshotRequest* request,
                       api::PrepareSnapshotResponse* response) override {
    return Handle(context, *request, [&](const std::string& ns, SnapshotStore& store) {
      ASSIGN_OR_RETURN(auto mounts,
                       store.Prepare(ns, request->key(), request->parent(),
                                     LabelsFromProto(request->labels()),
                                     LeaseFromContext(*context)));
      snapshotter::AppendMounts(mounts, response->mutable_mounts());
      containerd::events::SnapshotPrepare event;
      event.set_key(request->key());
      event.set_parent(request->parent());
      exchange_.Notify(ns, "/snapshot/prepare", event);
      return absl::OkStatus();
    });
  }

  grpc::Status View(grpc::ServerContext* context, const api::ViewSnapshotRequest* request,
                    api::ViewSnapshotResponse* response) override {
    return Handle(context, *request, [&](const std::string& ns, SnapshotStore& store) {
      ASSIGN_OR_RETURN(auto mounts,
                       store.View(ns, request->key(), request->parent(),
                                  LabelsFromProto(request->labels()), LeaseFromContext(*context)));
      snapshotter::AppendMounts(mounts, response->mutable_mounts());
      return absl::OkStatus();
    });
  }

  grpc::Status Mounts(grpc::ServerContext* context, const api::MountsRequest* request,
                      api::MountsResponse* response) override {
    return Handle(context, *request, [&](const std::string& ns, SnapshotStore& store) {
      ASSIGN_OR_RETURN(auto mounts, store.Mounts(ns, request->key()));
      snapshotter::AppendMounts(mounts, response->mutable_mounts());
      return absl::OkStatus();
    });
  }

  grpc::Status Commit(grpc::ServerContext* context, const api::CommitSnapshotRequest* request,
                      google::protobuf::Empty*) override {
    return Handle(context, *request, [&](const std::string& ns, SnapshotStore& store) {
      RETURN_IF_ERROR(store.Commit(ns, request->name(), request->key(),
                                   LabelsFromProto(request->labels()),
                                   LeaseFromContext(*context)));
      containerd::events::SnapshotCommit event;
      event.set_key(request->key());
      event.set_name(request->name());
      exchange_.Notify(ns, "/snapshot/commit", event);
      return absl::OkStatus();
    });
  }

  grpc::Status Remove(grpc::ServerContext* context, const api::RemoveSnapshotRequest* request,
                      google::protobuf::Empty*) override {
    return Handle(context, *request, [&](const std::string& ns, SnapshotStore& store) {
      RETURN_IF_ERROR(store.Remove(ns, request->key()));
      containerd::events::SnapshotRemove event;
      event.set_key(request->key());
      exchange_.Notify(ns, "/snapshot/remove", event);
      return absl::OkStatus();
    });
  }

  grpc::Status Stat(grpc::ServerContext* context, const api::StatSnapshotRequest* request,
                    api::StatSnapshotResponse* response) override {
    return Handle(context, *request, [&](const std::string& ns, SnapshotStore& store) {
      ASSIGN_OR_RETURN(SnapshotInfo info, store.Stat(ns, request->key()));
      *response->mutable_info() = snapshotter::ToProto(info);
      return absl::OkStatus();
    });
  }

  grpc::Status Update(grpc::ServerContext* context, const api::UpdateSnapshotRequest* request,
                      api::UpdateSnapshotResponse* response) override {
    return Handle(context, *request, [&](const std::string& ns, SnapshotStore& store) {
      std::vector<std::string> paths(request->update_mask().paths().begin(),
                                     request->update_mask().paths().end());
      ASSIGN_OR_RETURN(SnapshotInfo info,
                       store.Update(ns, snapshotter::FromProto(request->info()), paths));
      *response->mutable_info() = snapshotter::ToProto(info);
      return absl::OkStatus();
    });
  }

  grpc::Status List(grpc::ServerContext* context, const api::ListSnapshotsRequest* request,
                    grpc::ServerWriter<api::ListSnapshotsResponse>* writer) override {
    return Handle(context, *request, [&](const std::string& ns, SnapshotStore& store) {
      ASSIGN_OR_RETURN(auto match, SnapshotFilter(request->filters()));
      api::ListSnapshotsResponse batch;
      auto flush = [&]() -> absl::Status {
        if (batch.info_size() == 0) return absl::OkStatus();
        if (!writer->Write(batch)) {
          return absl::CancelledError("client went away while listing snapshots");
        }
        batch.clear_info();
        return absl::OkStatus();
      };
      RETURN_IF_ERROR(store.Walk(ns, [&](const SnapshotInfo& info) -> absl::Status {
        if (!match(info)) return absl::OkStatus();
        *batch.add_info() = snapshotter::ToProto(info);
        return batch.info_size() >= kListBatch ? flush() : absl::OkStatus();
      }));
      return flush();
    });
  }

  grpc::Status Usage(grpc::ServerContext* context, const api::UsageRequest* request,
                     api::UsageResponse* response) override {
    return Handle(context, *request, [&](const std::string& ns, SnapshotStore& store) {
      ASSIGN_OR_RETURN(snapshotter::Usage usage, store.Usage(ns, request->key()));
      response->set_size(usage.size);
      response->set_inodes(usage.inodes);
      return absl::OkStatus();
    });
  }

  grpc::Status Cleanup(grpc::ServerContext* context, const api::CleanupRequest* request,
                       google::protobuf::Empty*) override {
    return Handle(context, *request, [&](const std::string&, SnapshotStore& store) {
      return store.Cleanup();
    });
  }

 private:
  metadata::SnapshotStores& stores_;
  events::Exchange& exchange_;
};

}  // namespace

void RegisterSnapshotsService(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kServicePlugin,
      .id = "snapshots-service",
      .requires_types = {plugins::kMetadataPlugin, plugins::kSnapshotPlugin, plugins::kGcPlugin},
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        ASSIGN_OR_RETURN(auto* md, context.Get<metadata::Metadata>(plugins::kMetadataPlugin));
        auto stores = std::make_unique<metadata::SnapshotStores>();
        for (const auto& [id, backend] :
             context.GetAll<snapshotter::Snapshotter>(plugins::kSnapshotPlugin)) {
          stores->Add(std::make_unique<SnapshotStore>(md->db(), id, *backend));
        }
        if (absl::StatusOr<gc::GcPlugin*> gc = context.Get<gc::GcPlugin>(plugins::kGcPlugin);
            gc.ok()) {
          stores->AttachTo(*(*gc)->collector);
        }
        return plugins::Instance::Of(std::move(stores));
      }});
  (void)registry.Register(plugins::Registration{
      .type = plugins::kGrpcPlugin,
      .id = "snapshots",
      .requires_types = {plugins::kServicePlugin, plugins::kEventPlugin},
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        ASSIGN_OR_RETURN(auto* stores, context.GetById<metadata::SnapshotStores>(
                                           plugins::kServicePlugin, "snapshots-service"));
        ASSIGN_OR_RETURN(auto* exchange, context.Get<events::Exchange>(plugins::kEventPlugin));
        return plugins::Instance::Of<GrpcService>(
            std::make_unique<SnapshotsService>(*stores, *exchange));
      }});
}

}  // namespace berth::services
