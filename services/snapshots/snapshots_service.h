#pragma once

// containerd.services.snapshots.v1.Snapshots over the namespaced SnapshotStores, publishing
// /snapshot/prepare, /snapshot/commit and /snapshot/remove. Two plugins:
//   io.containerd.service.v1.snapshots-service  one metadata::SnapshotStore per loaded
//                                               snapshotter (metadata::SnapshotStores)
//   io.containerd.grpc.v1.snapshots             the gRPC service
// The request's `snapshotter` field picks the store; a `containerd-lease` header adds created
// snapshots to that lease.

#include "plugins/registry.h"

namespace berth::services {

void RegisterSnapshotsService(plugins::Registry& registry);

}  // namespace berth::services
