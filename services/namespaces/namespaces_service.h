#pragma once

// containerd.services.namespaces.v1.Namespaces over the metadata NamespaceStore, publishing
// /namespaces/create, /namespaces/update and /namespaces/delete.

#include "plugins/registry.h"

namespace berth::services {

void RegisterNamespacesService(plugins::Registry& registry);

}  // namespace berth::services
