#include "services/server/builtins.h"

#include "services/containers/containers_service.h"
#include "services/events/events_service.h"
#include "services/introspection/introspection_service.h"
#include "services/leases/leases_service.h"
#include "services/metadata/metadata.h"
#include "services/namespaces/namespaces_service.h"
#include "services/version/version_service.h"

namespace berth::server {

void RegisterBuiltins(plugins::Registry& registry) {
  metadata::RegisterMetadataPlugin(registry);
  services::RegisterExchangePlugin(registry);
  services::RegisterContainersService(registry);
  services::RegisterEventsService(registry);
  services::RegisterLeasesService(registry);
  services::RegisterNamespacesService(registry);
  services::RegisterVersionService(registry);
  services::RegisterIntrospectionService(registry);
}

}  // namespace berth::server
