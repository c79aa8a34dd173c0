#pragma once

#include "plugins/registry.h"

namespace berth::server {

// Registers every plugin compiled into berthd, one line per plugin (see builtins.cc).
void RegisterBuiltins(plugins::Registry& registry);

}  // namespace berth::server
