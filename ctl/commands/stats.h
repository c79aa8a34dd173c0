#pragma once

// berthctl stats: one sample of CPU, memory and pids per container from Tasks.Metrics. The
// metrics are cgroups v1 or v2 Metrics messages (io.containerd.cgroups.v1/v2.Metrics); their
// protos are not part of Berth's API, so the few fields shown are read from the wire format.

#include "ctl/commands/commands.h"

namespace berth::ctl {

void AddStatsCommand(CLI::App& app, Action& action);

}  // namespace berth::ctl
