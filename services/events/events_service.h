#pragma once

// The event exchange plugin (io.containerd.event.v1.exchange) and
// containerd.services.events.v1.Events: Publish and Forward feed the exchange; Subscribe
// streams matching envelopes without holding a thread per subscriber (gRPC callback API).

#include "plugins/registry.h"

namespace berth::services {

void RegisterExchangePlugin(plugins::Registry& registry);
void RegisterEventsService(plugins::Registry& registry);

}  // namespace berth::services
