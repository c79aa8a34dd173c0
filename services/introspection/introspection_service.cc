#include "services/introspection/introspection_service.h"

#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/str_format.h"
#include "containerd/services/introspection/v1/introspection.grpc.pb.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/types.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/common/list_filter.h"

namespace berth::services {
namespace {

namespace api = containerd::services::introspection::v1;

absl::StatusOr<std::string> NewUuid() {
  unsigned char bytes[16];
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "open", "/dev/urandom");
  ssize_t n = read(fd, bytes, sizeof(bytes));
  close(fd);
  if (n != sizeof(bytes)) return absl::InternalError("short read from /dev/urandom");
  bytes[6] = (bytes[6] & 0x0f) | 0x40;  // version 4
  bytes[8] = (bytes[8] & 0x3f) | 0x80;  // RFC 4122 variant
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    absl::StrAppendFormat(&out, "%02x", bytes[i]);
  }
  return out;
}

// Reads the daemon's UUID, creating it durably the first time.
absl::StatusOr<std::string> LoadOrCreateUuid(const std::string& dir) {
  std::string path = dir + "/uuid";
  if (PathExists(path)) return ReadFile(path);
  RETURN_IF_ERROR(MkdirAll(dir, 0711));
  ASSIGN_OR_RETURN(std::string uuid, NewUuid());
  RETURN_IF_ERROR(WriteFileAtomic(path, uuid, 0644));
  return uuid;
}

api::Plugin Describe(const plugins::PluginStatus& status) {
  api::Plugin plugin;
  plugin.set_type(status.registration->type);
  plugin.set_id(status.registration->id);
  for (const std::string& type : status.registration->requires_types) plugin.add_requires(type);
  for (const std::string& platform : status.meta.platforms) {
    auto* p = plugin.add_platforms();
    size_t slash = platform.find('/');
    p->set_os(platform.substr(0, slash));
    if (slash != std::string::npos) p->set_architecture(platform.substr(slash + 1));
  }
  for (const auto& [key, value] : status.meta.exports) (*plugin.mutable_exports())[key] = value;
  for (const std::string& capability : status.meta.capabilities) {
    plugin.add_capabilities(capability);
  }
  if (!status.init_error.ok()) {
    plugin.mutable_init_err()->set_code(static_cast<int>(status.init_error.code()));
    plugin.mutable_init_err()->set_message(std::string(status.init_error.message()));
  }
  return plugin;
}

class IntrospectionService final : public api::Introspection::Service, public GrpcService {
 public:
  IntrospectionService(const plugins::Registry& registry, std::string uuid)
      : registry_(registry), uuid_(std::move(uuid)) {}
  grpc::Service* service() override { return this; }

  grpc::Status Plugins(grpc::ServerContext*, const api::PluginsRequest* request,
                       api::PluginsResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(auto match,
                       MakeListFilter<api::Plugin>(request->filters(), [](const api::Plugin& p) {
                         return filters::AdaptFields({{"type", p.type()}, {"id", p.id()}});
                       }));
      for (const plugins::PluginStatus& status : registry_.Plugins()) {
        api::Plugin plugin = Describe(status);
        if (match(plugin)) *response->add_plugins() = std::move(plugin);
      }
      return absl::OkStatus();
    }());
  }

  grpc::Status Server(grpc::ServerContext*, const google::protobuf::Empty*,
                      api::ServerResponse* response) override {
    response->set_uuid(uuid_);
    return grpc::Status::OK;
  }

 private:
  const plugins::Registry& registry_;
  std::string uuid_;
};

}  // namespace

void RegisterIntrospectionService(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kGrpcPlugin,
      .id = "introspection",
      .requires_types = {plugins::kAllPlugins},
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        ASSIGN_OR_RETURN(std::string uuid, LoadOrCreateUuid(context.root()));
        return plugins::Instance::Of<GrpcService>(
            std::make_unique<IntrospectionService>(context.registry(), std::move(uuid)));
      }});
}

}  // namespace berth::services
