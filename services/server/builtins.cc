#include "services/server/builtins.h"

#include "runtime/v2/runtime_plugin.h"
#include "services/archive/archive_service.h"
#include "services/containers/containers_service.h"
#include "services/content/content_plugin.h"
#include "services/content/content_service.h"
#include "services/diff/diff_service.h"
#include "services/events/events_service.h"
#include "services/gc/scheduler.h"
#include "services/images/images_service.h"
#include "services/introspection/introspection_service.h"
#include "services/leases/leases_service.h"
#include "services/metadata/metadata.h"
#include "services/namespaces/namespaces_service.h"
#include "services/pull/transfer_service.h"
#include "services/snapshots/snapshots_service.h"
#include "services/tasks/tasks_service.h"
#include "services/unpack/unpacker.h"
#include "services/version/version_service.h"
#include "snapshotter/plugin/plugin.h"

namespace berth::server {

void RegisterBuiltins(plugins::Registry& registry) {
  services::RegisterContentPlugin(registry);
  metadata::RegisterMetadataPlugin(registry);
  services::RegisterGcPlugin(registry);
  services::RegisterExchangePlugin(registry);
  snapshotter::RegisterOverlayPlugin(registry);
  snapshotter::RegisterNativePlugin(registry);
  services::RegisterSnapshotsService(registry);
  services::RegisterDiffService(registry);
  unpack::RegisterUnpackPlugin(registry);
  services::RegisterContainersService(registry);
  services::RegisterContentService(registry);
  services::RegisterImagesService(registry);
  services::RegisterArchiveService(registry);
  services::RegisterTransferService(registry);
  runtime_v2::RegisterRuntimePlugin(registry);
  services::RegisterTasksService(registry);
  services::RegisterEventsService(registry);
  services::RegisterLeasesService(registry);
  services::RegisterNamespacesService(registry);
  services::RegisterVersionService(registry);
  services::RegisterIntrospectionService(registry);
}

void RegisterProxyPlugins(plugins::Registry& registry, const plugins::Config& config) {
  snapshotter::RegisterProxyPlugins(registry, config.proxy_plugins);
}

}  // namespace berth::server
