#pragma once

// Each file in ctl/commands adds one noun's subcommands to the CLI. Commands only translate
// between flags, RPCs and output; the daemon holds the logic.

#include <functional>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "ctl/client.h"

namespace berth::ctl {

// Set by a command's callback; main runs it once parsing is done, then reports its status.
using Action = std::function<absl::Status(Client&)>;

void AddVersionCommand(CLI::App& app, Action& action);
void AddPluginsCommand(CLI::App& app, Action& action);
void AddNamespaceCommands(CLI::App& app, Action& action);
void AddImageCommands(CLI::App& app, Action& action);
void AddRegistryCommands(CLI::App& app, Action& action);
void AddContainerCommands(CLI::App& app, Action& action);
void AddContentCommands(CLI::App& app, Action& action);

}  // namespace berth::ctl
