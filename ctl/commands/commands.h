#pragma once

// Each file in ctl/commands adds one noun's subcommands to the CLI. Commands only translate
// between flags, RPCs and output; the daemon holds the logic.

#include <functional>
#include <string_view>
#include <vector>

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
void AddContentCommands(CLI::App& app, Action& action);
// The registry verbs (registry_commands.h) and the container verbs (container_commands.h) have
// headers of their own.

// One Add function and the top-level subcommands it registers, aliases included.
struct CommandGroup {
  std::vector<std::string_view> names;
  void (*add)(CLI::App&, Action&);
};

// Every group, in the order `berthctl --help` lists them (command_groups.cc).
const std::vector<CommandGroup>& CommandGroups();

// Registers on `app` only the groups one of whose names is among `args` (the command line
// without argv[0]), or every group when none is (help, usage errors, a mistyped command).
// CLI11 takes ~20 us and a page fault or two per subcommand it builds, ~1 ms for the whole tree,
// and every berthctl command paid it. A word that is really an option's value (`-n ps`) can only
// pull in a group more, never leave the command's own out.
void AddCommandsFor(CLI::App& app, Action& action, const std::vector<std::string_view>& args);

}  // namespace berth::ctl
