#pragma once

// containerd.services.leases.v1.Leases over the metadata LeaseStore. Delete with `sync` runs
// the garbage collector before it returns once a collector is registered.

#include "plugins/registry.h"

namespace berth::services {

void RegisterLeasesService(plugins::Registry& registry);

}  // namespace berth::services
