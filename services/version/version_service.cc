#include "services/version/version_service.h"

#include "containerd/services/version/v1/version.grpc.pb.h"
#include "plugins/types.h"
#include "services/common/grpc_service.h"
#include "services/common/raw_unary.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.0.0"
#endif
#ifndef BERTH_REVISION
#define BERTH_REVISION "unknown"
#endif

namespace berth::services {
namespace {

namespace api = containerd::services::version::v1;

class VersionService final
    : public api::Version::WithRawCallbackMethod_Version<api::Version::Service>,
      public GrpcService {
 public:
  grpc::Service* service() override { return this; }
  grpc::ServerUnaryReactor* Version(grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* response) override {
    return RawUnary<google::protobuf::Empty, api::VersionResponse>(
        context, request, response, [](const google::protobuf::Empty&, api::VersionResponse& out) {
          out.set_version(BerthVersion());
          out.set_revision(BerthRevision());
          return grpc::Status::OK;
        });
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
