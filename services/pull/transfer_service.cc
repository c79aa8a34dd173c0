#include "services/pull/transfer_service.h"

#include "absl/strings/str_cat.h"
#include "berth/services/pull/v1/transfer.grpc.pb.h"
#include "containerd/events/image.pb.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/types.h"
#include "services/archive/oci.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/distribution/reference.h"
#include "services/distribution/registry_client.h"
#include "services/events/exchange.h"
#include "services/metadata/metadata.h"
#include "services/pull/puller.h"
#include "services/pull/pusher.h"
#include "services/unpack/unpacker.h"

namespace berth::services {
namespace {

namespace api = berth::services::pull::v1;
using distribution::RegistryConfig;

absl::StatusOr<std::vector<Platform>> ParsePlatforms(
    const google::protobuf::RepeatedPtrField<std::string>& texts) {
  std::vector<Platform> out;
  for (const std::string& text : texts) {
    Platform p = ParsePlatform(text);
    if (p.os.empty() || p.architecture.empty() || std::count(text.begin(), text.end(), '/') > 2) {
      return InvalidArgument(absl::StrCat("invalid platform \"", text, "\" (want os/arch[/variant])"));
    }
    out.push_back(p);
  }
  return out;
}

// Registry transport failures are Unavailable inside (retried there), but at the edge that
// code means "the daemon is unreachable" to gRPC clients; report them as FailedPrecondition.
grpc::Status ToGrpcEdge(const absl::Status& status) {
  if (absl::IsUnavailable(status)) {
    return ToGrpc(absl::FailedPreconditionError(absl::StrCat("registry: ", status.message())));
  }
  return ToGrpc(status);
}

class TransferService final : public api::Transfer::Service, public GrpcService {
 public:
  TransferService(metadata::Metadata& db, events::Exchange& exchange, unpack::Unpacker* unpacker,
                  RegistryConfig registry, int concurrency, int64_t chunk_size)
      : db_(db), exchange_(exchange), unpacker_(unpacker), registry_(std::move(registry)),
        concurrency_(concurrency), chunk_size_(chunk_size) {}
  grpc::Service* service() override { return this; }

  grpc::Status Pull(grpc::ServerContext* context, const api::PullRequest* request,
                    grpc::ServerWriter<api::Progress>* writer) override {
    return ToGrpcEdge([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      if (request->reference().empty()) return InvalidArgument("pull: reference is required");
      berth::pull::PullOptions options;
      options.reference = request->reference();
      ASSIGN_OR_RETURN(options.platforms, ParsePlatforms(request->platforms()));
      options.all_platforms = request->all_platforms();
      options.plain_http = request->registry().plain_http();
      ASSIGN_OR_RETURN(options.credentials,
                       distribution::ParseDockerConfig(request->registry().docker_config()));
      options.concurrency = request->max_concurrent_downloads() > 0
                                ? request->max_concurrent_downloads() : concurrency_;
      if (request->unpack()) {
        options.early_unpacker = unpacker_;
        options.snapshotter = request->snapshotter();
      }
      RegistryConfig registry = Registry(*request, request->reference());
      berth::pull::Puller puller(db_, registry);
      auto report = [&](const api::Progress& progress) { writer->Write(progress); };
      api::Progress last;
      auto unpack = [&](const metadata::Image& image, const std::string& lease) -> absl::Status {
        if (!request->unpack()) return absl::OkStatus();
        last.set_name(image.name());
        *last.mutable_target() = image.target();
        last.set_message("unpacking");
        writer->Write(last);
        if (unpacker_ == nullptr) return absl::UnimplementedError("unpack: no unpacker is loaded");
        unpack::UnpackRequest unpack;
        unpack.ns = ns;
        unpack.target = image.target();
        unpack.snapshotter = request->snapshotter();
        unpack.lease = lease;
        if (!options.platforms.empty()) unpack.platform = options.platforms[0];
        ASSIGN_OR_RETURN(unpack::UnpackResult result, unpacker_->Unpack(unpack));
        last.set_chain_id(result.chain_id);
        return absl::OkStatus();
      };
      ASSIGN_OR_RETURN(auto pulled, puller.Pull(ns, options, report,
                                                [&] { return context->IsCancelled(); }, unpack));
      auto& [image, created] = pulled;
      Notify(ns, image, created);
      last.set_name(image.name());
      *last.mutable_target() = image.target();
      last.set_message("done");
      last.set_done(true);
      writer->Write(last);
      return absl::OkStatus();
    }());
  }

  grpc::Status Push(grpc::ServerContext* context, const api::PushRequest* request,
                    grpc::ServerWriter<api::Progress>* writer) override {
    return ToGrpcEdge([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      if (request->image().empty()) return InvalidArgument("push: image is required");
      berth::pull::PushOptions options;
      options.image = request->image();
      options.reference = request->reference();
      options.chunk_size = chunk_size_;
      ASSIGN_OR_RETURN(options.platforms, ParsePlatforms(request->platforms()));
      options.plain_http = request->registry().plain_http();
      ASSIGN_OR_RETURN(options.credentials,
                       distribution::ParseDockerConfig(request->registry().docker_config()));
      RegistryConfig registry = Registry(*request, options.reference.empty() ? options.image
                                                                             : options.reference);
      berth::pull::Pusher pusher(db_, registry);
      auto report = [&](const api::Progress& progress) { writer->Write(progress); };
      ASSIGN_OR_RETURN(containerd::types::Descriptor target, pusher.Push(ns, options, report));
      api::Progress last;
      last.set_name(options.reference.empty() ? options.image : options.reference);
      *last.mutable_target() = target;
      last.set_message("done");
      last.set_done(true);
      writer->Write(last);
      return absl::OkStatus();
    }());
  }

  grpc::Status Login(grpc::ServerContext*, const api::LoginRequest* request,
                     api::LoginResponse*) override {
    return ToGrpcEdge([&]() -> absl::Status {
      if (request->server().empty()) return InvalidArgument("login: server is required");
      RegistryConfig registry = Registry(*request, absl::StrCat(request->server(), "/x"));
      ASSIGN_OR_RETURN(auto endpoints,
                       registry.Endpoints(request->server(), request->registry().plain_http()));
      std::map<std::string, distribution::Credentials> creds;
      creds[request->server()] = {request->username(), request->password()};
      distribution::Authorizer auth(berth::pull::CredentialLookup(creds, registry, request->server()));
      distribution::RegistryClient client({endpoints.back()}, "", auth);
      return client.Ping();
    }());
  }

 private:
  // The daemon's registry config, with the request's skip_verify applied to its registry.
  template <typename Request>
  RegistryConfig Registry(const Request& request, const std::string& reference) {
    RegistryConfig registry = registry_;
    if (request.registry().skip_verify()) {
      absl::StatusOr<distribution::Reference> ref =
          distribution::ParseNormalizedReference(archive::NormalizeReference(reference));
      if (ref.ok()) registry.hosts[ref->domain].tls.skip_verify = true;
    }
    return registry;
  }

  void Notify(const std::string& ns, const metadata::Image& image, bool created) {
    if (created) {
      containerd::services::images::v1::ImageCreate event;
      event.set_name(image.name());
      *event.mutable_labels() = image.labels();
      exchange_.Notify(ns, "/images/create", event);
    } else {
      containerd::services::images::v1::ImageUpdate event;
      event.set_name(image.name());
      *event.mutable_labels() = image.labels();
      exchange_.Notify(ns, "/images/update", event);
    }
  }

  metadata::Metadata& db_;
  events::Exchange& exchange_;
  unpack::Unpacker* unpacker_;
  const RegistryConfig registry_;
  const int concurrency_;
  const int64_t chunk_size_;
};

}  // namespace

void RegisterTransferService(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kGrpcPlugin,
      .id = "transfer",
      .requires_types = {plugins::kMetadataPlugin, plugins::kEventPlugin,
                         plugins::kInternalPlugin},
      .default_config = "max_concurrent_downloads = 3\npush_chunk_size = 67108864\n",
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        ASSIGN_OR_RETURN(auto* db, context.Get<metadata::Metadata>(plugins::kMetadataPlugin));
        ASSIGN_OR_RETURN(auto* exchange, context.Get<events::Exchange>(plugins::kEventPlugin));
        if (db->content() == nullptr) return plugins::SkipPlugin("no content store loaded");
        ASSIGN_OR_RETURN(RegistryConfig config,
                         distribution::RegistryConfigFromToml(context.config()));
        int concurrency = context.config()["max_concurrent_downloads"].value_or(3);
        if (concurrency < 1) return InvalidArgument("max_concurrent_downloads must be at least 1");
        int64_t chunk_size = context.config()["push_chunk_size"].value_or(int64_t{64} << 20);
        if (chunk_size < 1) return InvalidArgument("push_chunk_size must be positive");
        absl::StatusOr<unpack::Unpacker*> unpacker =
            context.GetById<unpack::Unpacker>(plugins::kInternalPlugin, "unpack");
        return plugins::Instance::Of<GrpcService>(std::make_unique<TransferService>(
            *db, *exchange, unpacker.ok() ? *unpacker : nullptr, std::move(config), concurrency,
            chunk_size));
      }});
}

}  // namespace berth::services
