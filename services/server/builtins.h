#pragma once

#include "plugins/config.h"
#include "plugins/registry.h"

namespace berth::server {

// Registers every plugin compiled into berthd, one line per plugin (see builtins.cc).
void RegisterBuiltins(plugins::Registry& registry);
// Registers the [proxy_plugins] of `config` (external snapshotters).
void RegisterProxyPlugins(plugins::Registry& registry, const plugins::Config& config);

}  // namespace berth::server
