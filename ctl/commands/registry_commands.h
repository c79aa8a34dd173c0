#pragma once

// berthctl pull / push / login / logout: registry transfers run by the daemon
// (berth.services.pull.v1.Transfer); credentials from auth_config.h go with each request.

#include "CLI/CLI.hpp"
#include "ctl/commands/commands.h"

namespace berth::ctl {

void AddPullCommand(CLI::App& app, Action& action);
void AddPushCommand(CLI::App& app, Action& action);
void AddLoginCommands(CLI::App& app, Action& action);

}  // namespace berth::ctl
