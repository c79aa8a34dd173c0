#pragma once

// containerd.services.content.v1.Content over the namespaced content layer
// (metadata::ContentMetadata): Info, Update, List, Delete (publishes /content/delete), Read,
// Status, ListStatuses, Write (the STAT/WRITE/COMMIT session of containerd's contentserver)
// and Abort.

#include "plugins/registry.h"

namespace berth::services {

void RegisterContentService(plugins::Registry& registry);

}  // namespace berth::services
