#pragma once

// containerd.services.version.v1.Version and the grpc.health.v1 health service.

#include "plugins/registry.h"

namespace berth::services {

// The version string reported to clients: the containerd API level Berth implements plus
// Berth's own version, e.g. "1.6.20+berth.0.1.0".
const char* BerthVersion();
const char* BerthRevision();

void RegisterVersionService(plugins::Registry& registry);

}  // namespace berth::services
