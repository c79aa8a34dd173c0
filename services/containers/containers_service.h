#pragma once

// containerd.services.containers.v1.Containers over the metadata ContainerStore, publishing
// /containers/create, /containers/update and /containers/delete.

#include "plugins/registry.h"

namespace berth::services {

void RegisterContainersService(plugins::Registry& registry);

}  // namespace berth::services
