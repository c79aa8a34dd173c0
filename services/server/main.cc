// berthd: the Berth daemon.
//
//   berthd [--config FILE] [--root DIR] [--state DIR] [--address SOCKET] [--log-level LEVEL]
//   berthd config default      print the whole default configuration

#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <iostream>

#include "CLI/CLI.hpp"
#include "grpc/grpc.h"
#include "plugins/base/abseil_mode.h"
#include "plugins/base/log.h"
#include "plugins/config.h"
#include "services/server/builtins.h"
#include "services/server/idle_trim.h"
#include "services/server/server.h"
#include "services/version/version_service.h"

namespace {

struct Flags {
  std::string config_path = berth::plugins::kDefaultConfigPath;
  std::string root, state, address, log_level;
};

absl::StatusOr<berth::plugins::Config> LoadWithFlags(const Flags& flags, bool config_given) {
  absl::StatusOr<berth::plugins::Config> config =
      berth::plugins::LoadConfig(flags.config_path, config_given);
  if (!config.ok()) return config;
  if (!flags.root.empty()) config->root = flags.root;
  if (!flags.state.empty()) config->state = flags.state;
  if (!flags.address.empty()) config->grpc_address = flags.address;
  if (!flags.log_level.empty()) config->log_level = flags.log_level;
  return config;
}

// Blocks the shutdown signals in every thread (gRPC's included) so main can sigwait for them.
sigset_t BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return set;
}

int RunDaemon(const Flags& flags, bool config_given) {
  sigset_t signals = BlockShutdownSignals();
  absl::StatusOr<berth::plugins::Config> config = LoadWithFlags(flags, config_given);
  if (!config.ok()) {
    BERTH_LOG(ERROR) << config.status();
    return 1;
  }
  absl::StatusOr<berth::log::Level> level = berth::log::ParseLevel(config->log_level);
  if (!level.ok()) {
    BERTH_LOG(ERROR) << level.status();
    return 1;
  }
  berth::log::SetLevel(*level);
  BERTH_LOG(INFO) << "starting berthd " << berth::services::BerthVersion() << " root="
                  << config->root << " state=" << config->state;
  berth::server::IdleTrim::KeepFreedMemoryWhileBusy();
  // A reference to the gRPC library that is never dropped: the library's last shutdown (when
  // the server object goes) joins gRPC's executor threads, and one of them can be inside a
  // poll with a ~10 s timeout, which made about half of the stops take 10 s. Everything of
  // ours is closed by Stop(); the process exits right after.
  grpc_init();
  auto registry = std::make_unique<berth::plugins::Registry>();
  berth::server::RegisterBuiltins(*registry);
  berth::server::RegisterProxyPlugins(*registry, *config);
  absl::StatusOr<std::unique_ptr<berth::server::Server>> server =
      berth::server::Server::Start(*config, std::move(registry));
  if (!server.ok()) {
    BERTH_LOG(ERROR) << "start: " << server.status();
    return 1;
  }
  // Wait for a shutdown signal, checking once a second whether idle memory can be given back.
  berth::server::IdleTrim idle_trim;
  const struct timespec tick = {1, 0};
  int received = -1;
  while (received < 0) {
    received = sigtimedwait(&signals, nullptr, &tick);
    if (received < 0 && errno == EAGAIN) idle_trim.Tick();
  }
  BERTH_LOG(INFO) << "received signal " << received << ", shutting down";
  (*server)->Stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  berth::UseReleaseAbseilMutexes();
  berth::log::SetProgramName("berthd");
  CLI::App app{"berthd: a containerd-compatible container daemon"};
  Flags flags;
  app.add_option("--config,-c", flags.config_path, "config file")->capture_default_str();
  app.add_option("--root", flags.root, "root directory for persistent data");
  app.add_option("--state", flags.state, "state directory for volatile data");
  app.add_option("--address,-a", flags.address, "gRPC unix socket path");
  app.add_option("--log-level,-l", flags.log_level, "debug, info, warn or error");
  CLI::App* config_cmd = app.add_subcommand("config", "configuration helpers");
  CLI::App* config_default = config_cmd->add_subcommand("default", "print the default config");
  config_cmd->require_subcommand(1);
  CLI11_PARSE(app, argc, argv);

  if (config_default->parsed()) {
    berth::plugins::Registry registry;
    berth::server::RegisterBuiltins(registry);
    std::cout << berth::plugins::DefaultConfigText(registry);
    return 0;
  }
  return RunDaemon(flags, app.get_option("--config")->count() > 0);
}
