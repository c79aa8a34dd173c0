#pragma once

// containerd.services.introspection.v1.Introspection: Plugins lists every registered plugin
// with its outcome (init_err carries "skip plugin: ..." for skipped ones, which ctr shows as
// "skip"); Server returns a UUID created once and kept under the plugin's root.

#include "plugins/registry.h"

namespace berth::services {

void RegisterIntrospectionService(plugins::Registry& registry);

}  // namespace berth::services
