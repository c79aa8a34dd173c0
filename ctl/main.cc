// berthctl: the Berth CLI for people (Docker-like), also covering what `ctr` covers.
//
//   berthctl [-a SOCKET] [-n NAMESPACE] [--format table|json] COMMAND ...
//   Environment: BERTH_ADDRESS, BERTH_NAMESPACE.

#include <iostream>

#include "CLI/CLI.hpp"
#include "ctl/client.h"
#include "ctl/commands/commands.h"
#include "plugins/base/abseil_mode.h"

int main(int argc, char** argv) {
  berth::UseReleaseAbseilMutexes();
  CLI::App app{"berthctl: manage images and containers on a Berth daemon"};
  app.require_subcommand(1);
  berth::ctl::GlobalOptions options;
  app.add_option("--address,-a", options.address, "daemon socket")
      ->envname("BERTH_ADDRESS")
      ->capture_default_str();
  app.add_option("--namespace,-n", options.ns, "namespace")
      ->envname("BERTH_NAMESPACE")
      ->capture_default_str();
  app.add_option("--format", options.format, "output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.add_option("--timeout", options.timeout_seconds, "seconds to wait for each call")
      ->capture_default_str();

  berth::ctl::Action action;
  berth::ctl::AddCommandsFor(app, action, {argv + 1, argv + argc});
  CLI11_PARSE(app, argc, argv);

  if (!action) return 0;
  berth::ctl::Client client(options);
  absl::Status status = action(client);
  if (!status.ok()) {
    std::cerr << "berthctl: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
