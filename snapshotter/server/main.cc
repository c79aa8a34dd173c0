// berth-snapshotter: serves one built-in snapshotter over containerd's snapshots gRPC API on a
// unix socket, so berthd (or containerd) can use it through [proxy_plugins]:
//
//   berth-snapshotter --snapshotter native --root /var/lib/berth-snapshotter
//       --address /run/berth-snapshotter.sock   (one command line)
//
//   # config.toml of berthd
//   [proxy_plugins.mysnap]
//     type = "snapshot"
//     address = "/run/berth-snapshotter.sock"
//
// Runs until SIGTERM or SIGINT. A starting point for writing an external snapshotter: replace
// the backend with your own snapshotter::Snapshotter.

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "plugins/base/file_util.h"
#include "snapshotter/native/native_snapshotter.h"
#include "snapshotter/overlay/overlay_snapshotter.h"
#include "snapshotter/proxy/snapshotter_service.h"

namespace {

absl::StatusOr<std::unique_ptr<berth::snapshotter::Snapshotter>> OpenBackend(
    const std::string& kind, const std::string& root, const std::string& link_dir) {
  if (kind == "native") {
    auto s = berth::snapshotter::native::NativeSnapshotter::Create(root);
    if (!s.ok()) return s.status();
    return std::unique_ptr<berth::snapshotter::Snapshotter>(std::move(*s));
  }
  if (kind == "overlayfs") {
    berth::snapshotter::overlay::OverlayOptions options;
    options.link_dir = link_dir;
    auto s = berth::snapshotter::overlay::OverlaySnapshotter::Create(root, options);
    if (!s.ok()) return s.status();
    return std::unique_ptr<berth::snapshotter::Snapshotter>(std::move(*s));
  }
  return absl::InvalidArgumentError("unknown snapshotter \"" + kind + "\" (native, overlayfs)");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"berth-snapshotter: a snapshotter served over containerd's snapshots API"};
  std::string kind = "native";
  std::string root = "/var/lib/berth-snapshotter";
  std::string address = "/run/berth-snapshotter/snapshotter.sock";
  std::string link_dir = "/run/berth-snapshotter/l";
  app.add_option("--snapshotter,-s", kind, "native or overlayfs")->capture_default_str();
  app.add_option("--root", root, "root directory of the snapshotter")->capture_default_str();
  app.add_option("--address,-a", address, "unix socket to serve on")->capture_default_str();
  app.add_option("--link-dir", link_dir, "overlayfs: directory of short mount links")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto backend = OpenBackend(kind, root, link_dir);
  if (!backend.ok()) {
    std::cerr << "berth-snapshotter: " << backend.status() << "\n";
    return 1;
  }
  std::string dir = address.substr(0, address.rfind('/'));
  if (!dir.empty()) (void)berth::MkdirAll(dir, 0711);
  unlink(address.c_str());
  std::unique_ptr<grpc::Service> service =
      berth::snapshotter::proxy::NewSnapshotterService(**backend);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + address, grpc::InsecureServerCredentials());
  builder.SetMaxReceiveMessageSize(16 << 20);
  builder.SetMaxSendMessageSize(16 << 20);
  builder.RegisterService(service.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    std::cerr << "berth-snapshotter: cannot listen on " << address << "\n";
    return 1;
  }
  chmod(address.c_str(), 0660);
  std::cerr << "berth-snapshotter: serving " << kind << " (" << root << ") on " << address << "\n";
  int received = 0;
  sigwait(&signals, &received);
  server->Shutdown();
  unlink(address.c_str());
  return 0;
}
