#pragma once

// The content store plugin (io.containerd.content.v1 "content"): the local filesystem backend
// (content/local) at <root>/io.containerd.content.v1.content, exported as content::ContentStore.
// The metadata plugin wraps it with namespaces and labels; the Content gRPC service
// (content_service.h) serves that wrapper.

#include "plugins/registry.h"

namespace berth::services {

void RegisterContentPlugin(plugins::Registry& registry);

}  // namespace berth::services
