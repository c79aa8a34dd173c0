#pragma once

// The runtime plugin io.containerd.runtime.v2.task: a runtime_v2::TaskManager with its bundles
// under <state>/io.containerd.runtime.v2.task and work dirs under <root>/..., receiving shim
// events on the daemon's ttrpc address. Services get it with
// context.Get<runtime_v2::TaskManager>(plugins::kRuntimePlugin).

#include "plugins/registry.h"

namespace berth::runtime_v2 {

void RegisterRuntimePlugin(plugins::Registry& registry);

}  // namespace berth::runtime_v2
