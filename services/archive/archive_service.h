#pragma once

// berth.services.images.v1.Archive: image archive Import (client-streaming tar in) and Export
// (server-streaming tar out) in the daemon, over importer.h / exporter.h.

#include "plugins/registry.h"

namespace berth::services {

void RegisterArchiveService(plugins::Registry& registry);

}  // namespace berth::services
