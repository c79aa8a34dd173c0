// The conformance suite on ProxySnapshotter: the native snapshotter served in-process over
// containerd's snapshots gRPC API on a unix socket (what berth-snapshotter does), reached
// through the proxy client that berthd uses for [proxy_plugins].

#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "snapshotter/native/native_snapshotter.h"
#include "snapshotter/proxy/proxy_snapshotter.h"
#include "snapshotter/proxy/snapshotter_service.h"
#include "tests/conformance/snapshotter_conformance.h"

namespace berth::snapshotter::testing {
namespace {

// A native snapshotter behind a gRPC server, and a proxy client to it.
class ServedProxy final : public Snapshotter {
 public:
  static absl::StatusOr<std::unique_ptr<Snapshotter>> Create(const std::string& root) {
    auto native = native::NativeSnapshotter::Create(root + "/native");
    if (!native.ok()) return native.status();
    auto self = std::unique_ptr<ServedProxy>(new ServedProxy());
    self->backend_ = std::move(*native);
    self->service_ = proxy::NewSnapshotterService(*self->backend_);
    std::string socket = root + "/snapshotter.sock";
    unlink(socket.c_str());
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + socket, grpc::InsecureServerCredentials());
    builder.RegisterService(self->service_.get());
    self->server_ = builder.BuildAndStart();
    if (self->server_ == nullptr) return absl::InternalError("cannot serve on " + socket);
    self->proxy_ = std::make_unique<proxy::ProxySnapshotter>(proxy::DialUnix(socket), "native");
    return std::unique_ptr<Snapshotter>(std::move(self));
  }
  ~ServedProxy() override {
    proxy_.reset();
    if (server_) server_->Shutdown();
  }

  absl::StatusOr<SnapshotInfo> Stat(absl::string_view key) override { return proxy_->Stat(key); }
  absl::StatusOr<SnapshotInfo> Update(const SnapshotInfo& info,
                                      absl::Span<const std::string> paths) override {
    return proxy_->Update(info, paths);
  }
  absl::StatusOr<snapshotter::Usage> Usage(absl::string_view key) override {
    return proxy_->Usage(key);
  }
  absl::StatusOr<std::vector<Mount>> Mounts(absl::string_view key) override {
    return proxy_->Mounts(key);
  }
  absl::StatusOr<std::vector<Mount>> Prepare(absl::string_view key, absl::string_view parent,
                                             const Labels& labels) override {
    return proxy_->Prepare(key, parent, labels);
  }
  absl::StatusOr<std::vector<Mount>> View(absl::string_view key, absl::string_view parent,
                                          const Labels& labels) override {
    return proxy_->View(key, parent, labels);
  }
  absl::Status Commit(absl::string_view name, absl::string_view key,
                      const Labels& labels) override {
    return proxy_->Commit(name, key, labels);
  }
  absl::Status Remove(absl::string_view key) override { return proxy_->Remove(key); }
  absl::Status Walk(absl::FunctionRef<absl::Status(const SnapshotInfo&)> fn) override {
    return proxy_->Walk(fn);
  }
  absl::Status Cleanup() override { return proxy_->Cleanup(); }

 private:
  ServedProxy() = default;
  std::unique_ptr<Snapshotter> backend_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<proxy::ProxySnapshotter> proxy_;
};

INSTANTIATE_TEST_SUITE_P(Proxy, SnapshotterConformance,
                         ::testing::Values(SnapshotterFactory{"proxy_native",
                                                              &ServedProxy::Create, nullptr}),
                         SnapshotterFactoryName);

}  // namespace
}  // namespace berth::snapshotter::testing
