#include "services/server/server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/server_interceptor.h"
#include "plugins/base/file_util.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/types.h"
#include "services/common/grpc_service.h"
#include "runtime/ttrpc/socket.h"
#include "services/server/exclusive.h"

namespace berth::server {
namespace {

constexpr absl::Duration kShutdownGrace = absl::Seconds(10);

// An interceptor lives exactly as long as its call: counting them tells when no call is in
// progress, whatever the service or the API (sync or callback) that serves it. At debug level
// it also logs each call's method and time, from its arrival to its end.
class CountingInterceptor final : public grpc::experimental::Interceptor {
 public:
  CountingInterceptor(front::CallCounter* counter, const char* method)
      : counter_(counter), method_(method) {
    counter_->Add(1);
    if (log::GetLevel() <= log::DEBUG) start_ = absl::Now();
  }
  ~CountingInterceptor() override {
    counter_->Add(-1);
    if (start_ != absl::InfinitePast()) {
      BERTH_LOG(DEBUG) << "rpc " << (method_ != nullptr ? method_ : "?") << " "
                       << absl::FormatDuration(absl::Now() - start_);
    }
  }
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    methods->Proceed();
  }

 private:
  front::CallCounter* counter_;
  const char* method_;
  absl::Time start_ = absl::InfinitePast();
};

class CountingInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CountingInterceptorFactory(front::CallCounter* counter) : counter_(counter) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CountingInterceptor(counter_, info->method());
  }

 private:
  front::CallCounter* counter_;
};

std::string ParentDir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
}

std::set<std::string> ToSet(const std::vector<std::string>& items) {
  return std::set<std::string>(items.begin(), items.end());
}

std::vector<services::GrpcService*> GrpcServices(const plugins::Registry& registry) {
  std::vector<services::GrpcService*> out;
  for (const auto& [id, instance] : registry.FindAll(plugins::kGrpcPlugin)) {
    if (auto* service = instance->As<services::GrpcService>()) out.push_back(service);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    const plugins::Config& config, std::unique_ptr<plugins::Registry> registry) {
  std::unique_ptr<Server> server(new Server(config, std::move(registry)));
  RETURN_IF_ERROR(server->PrepareDirectories());
  plugins::InitOptions options{
      .daemon = {.root = config.root,
                 .state = config.state,
                 .address = config.grpc_address,
                 .ttrpc_address = config.EffectiveTtrpcAddress()},
      .plugin_configs = config.plugin_configs,
      .disabled = ToSet(config.disabled_plugins),
      .required = ToSet(config.required_plugins),
  };
  RETURN_IF_ERROR(server->registry_->InitAll(options));
  RETURN_IF_ERROR(server->Serve());
  return server;
}

Server::~Server() { Stop(); }

absl::Status Server::PrepareDirectories() {
  RETURN_IF_ERROR(MkdirAll(config_.root, 0711));
  RETURN_IF_ERROR(MkdirAll(config_.state, 0711));
  ASSIGN_OR_RETURN(root_lock_, LockDirectory(config_.root, "root"));
  if (!SameFile(config_.root, config_.state)) {
    ASSIGN_OR_RETURN(state_lock_, LockDirectory(config_.state, "state"));
  }
  RETURN_IF_ERROR(CheckNoLiveSocket(config_.grpc_address));
  std::string socket_dir = ParentDir(config_.grpc_address);
  RETURN_IF_ERROR(MkdirAll(socket_dir, 0711));
  if (chmod(socket_dir.c_str(), 0711) != 0) return ErrnoError(errno, "chmod", socket_dir);
  return absl::OkStatus();
}

absl::Status Server::Serve() {
  const std::string& address = config_.grpc_address;
  if (unlink(address.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, "remove stale socket", address);
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;  // no port: the front end passes calls on (front_server.h)
  builder.SetMaxReceiveMessageSize(static_cast<int>(config_.max_recv_message_size));
  builder.SetMaxSendMessageSize(static_cast<int>(config_.max_send_message_size));
  // Its one connection is the front end's socket pair: large frames and windows (a 1 MiB
  // upload chunk crosses in one go).
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, 1 << 20);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 << 20);
  // A local daemon needs few pollers; more threads are added on demand for blocking calls.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::NUM_CQS, 1);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 1);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 2);
  front::FrontOptions front_options{
      .max_recv_message_size = static_cast<size_t>(config_.max_recv_message_size),
      .max_send_message_size = static_cast<size_t>(config_.max_send_message_size)};
  for (services::GrpcService* service : GrpcServices(*registry_)) {
    if (grpc::Service* grpc_service = service->service()) builder.RegisterService(grpc_service);
    for (services::FastMethod& method : service->fast_methods()) {
      front_options.fast_methods.push_back(std::move(method));
    }
  }
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> counting;
  counting.push_back(std::make_unique<CountingInterceptorFactory>(&calls_));
  builder.experimental().SetInterceptorCreators(std::move(counting));
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr) return absl::UnavailableError("could not start the gRPC server");
  ASSIGN_OR_RETURN(UniqueFd listener, ttrpc::ListenUnix(address));
  if (chmod(address.c_str(), 0660) != 0) return ErrnoError(errno, "chmod", address);
  if (chown(address.c_str(), static_cast<uid_t>(config_.grpc_uid),
            static_cast<gid_t>(config_.grpc_gid)) != 0) {
    return ErrnoError(errno, "chown", address);
  }
  ASSIGN_OR_RETURN(front_, front::FrontServer::Start(std::move(listener), *grpc_server_,
                                                     std::move(front_options), &calls_));
  BERTH_LOG(INFO) << "serving on " << address;
  return absl::OkStatus();
}

void Server::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (grpc_server_ != nullptr) {
    for (services::GrpcService* service : GrpcServices(*registry_)) service->BeginShutdown();
    // The grace period is spent only on calls in progress; then the connections are closed
    // at once (GOAWAY), which cancels what they still had going.
    if (!calls_.WaitIdle(kShutdownGrace)) {
      BERTH_LOG(WARN) << "calls still in progress after " << kShutdownGrace << ": cancelled";
    }
    if (front_ != nullptr) front_->CloseConnections();
    grpc_server_->Shutdown(std::chrono::system_clock::now());
    grpc_server_->Wait();
    front_.reset();  // after every forwarded call has ended (it waits)
    grpc_server_.reset();
    unlink(config_.grpc_address.c_str());
  }
  registry_->Shutdown();
  BERTH_LOG(INFO) << "stopped";
}

}  // namespace berth::server
