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
#include "services/server/exclusive.h"

namespace berth::server {
namespace {

constexpr absl::Duration kShutdownGrace = absl::Seconds(10);

// An interceptor lives exactly as long as its call: counting them tells when no call is in
// progress, whatever the service or the API (sync or callback) that serves it. At debug level
// it also logs each call's method and time, from its arrival to its end.
class CountingInterceptor final : public grpc::experimental::Interceptor {
 public:
  CountingInterceptor(CallCounter* counter, const char* method)
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
  CallCounter* counter_;
  const char* method_;
  absl::Time start_ = absl::InfinitePast();
};

class CountingInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CountingInterceptorFactory(CallCounter* counter) : counter_(counter) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CountingInterceptor(counter_, info->method());
  }

 private:
  CallCounter* counter_;
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

void CallCounter::Add(int delta) {
  absl::MutexLock lock(&mu_);
  calls_ += delta;
}

bool CallCounter::WaitIdle(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(
                                  +[](int* calls) { return *calls == 0; }, &calls_),
                              timeout);
}

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
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + address, grpc::InsecureServerCredentials());
  builder.SetMaxReceiveMessageSize(static_cast<int>(config_.max_recv_message_size));
  builder.SetMaxSendMessageSize(static_cast<int>(config_.max_send_message_size));
  // A local daemon needs few pollers; more threads are added on demand for blocking calls.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::NUM_CQS, 1);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 1);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 2);
  for (services::GrpcService* service : GrpcServices(*registry_)) {
    builder.RegisterService(service->service());
  }
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> counting;
  counting.push_back(std::make_unique<CountingInterceptorFactory>(&calls_));
  builder.experimental().SetInterceptorCreators(std::move(counting));
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr) {
    return absl::UnavailableError("could not serve on unix:" + address);
  }
  if (chmod(address.c_str(), 0660) != 0) return ErrnoError(errno, "chmod", address);
  if (chown(address.c_str(), static_cast<uid_t>(config_.grpc_uid),
            static_cast<gid_t>(config_.grpc_gid)) != 0) {
    return ErrnoError(errno, "chown", address);
  }
  BERTH_LOG(INFO) << "serving on " << address;
  return absl::OkStatus();
}

void Server::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (grpc_server_ != nullptr) {
    for (services::GrpcService* service : GrpcServices(*registry_)) service->BeginShutdown();
    // gRPC's own graceful shutdown also waits for every connected client, busy or idle, to
    // answer the GOAWAY ping; an idle client that polls its socket rarely (a C++ channel with
    // no call in progress reads every 5 s) held the stop that long. So the grace period is
    // spent only on calls in progress; then the remaining connections are closed at once.
    if (!calls_.WaitIdle(kShutdownGrace)) {
      BERTH_LOG(WARN) << "calls still in progress after " << kShutdownGrace << ": cancelled";
    }
    grpc_server_->Shutdown(std::chrono::system_clock::now());
    grpc_server_->Wait();
    grpc_server_.reset();
    unlink(config_.grpc_address.c_str());
  }
  registry_->Shutdown();
  BERTH_LOG(INFO) << "stopped";
}

}  // namespace berth::server
