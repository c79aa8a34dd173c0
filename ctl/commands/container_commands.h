#pragma once

// The container verbs (their groups: command_groups.cc): run, create and start (run.cc); ps,
// inspect, rm and wait (containers.cc); stop, kill, exec, attach, top and stats (tasks.cc).

#include "ctl/commands/commands.h"

namespace berth::ctl {

void AddRunCommands(CLI::App& app, Action& action);
void AddContainerListCommands(CLI::App& app, Action& action);
void AddTaskCommands(CLI::App& app, Action& action);

}  // namespace berth::ctl
