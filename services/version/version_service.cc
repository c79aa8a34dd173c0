#include "services/version/version_service.h"

#include "containerd/services/version/v1/version.pb.h"
#include "google/protobuf/empty.pb.h"
#include "plugins/types.h"
#include "services/common/grpc_service.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.0.0"
#endif
#ifndef BERTH_REVISION
#define BERTH_REVISION "unknown"
#endif

namespace berth::services {
namespace {

namespace api = containerd::services::version::v1;

// Version's one method is answered on the front end's fast path (fast_method.h), so there is
// no grpc::Service to register.
class VersionService final : public GrpcService {
 public:
  grpc::Service* service() override { return nullptr; }
  std::vector<FastMethod> fast_methods() override {
    return {{"/containerd.services.version.v1.Version/Version",
             [](const RequestHeaders&, std::string_view message, FramedReply& reply) {
               google::protobuf::Empty request;
               grpc::Status status = ParseRequest(message, request);
               if (!status.ok()) return status;
               api::VersionResponse response;
               response.set_version(BerthVersion());
               response.set_revision(BerthRevision());
               reply.Append(response);
               return grpc::Status::OK;
             }}};
  }
};

}  // namespace

const char* BerthVersion() { return "1.6.20+berth." BERTH_VERSION; }
const char* BerthRevision() { return BERTH_REVISION; }

void RegisterVersionService(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kGrpcPlugin,
      .id = "version",
      .init = [](plugins::InitContext&) -> absl::StatusOr<plugins::Instance> {
        return plugins::Instance::Of<GrpcService>(std::make_unique<VersionService>());
      }});
}

}  // namespace berth::services
