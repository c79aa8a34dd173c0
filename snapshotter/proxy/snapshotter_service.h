#pragma once

// SnapshotterService serves one Snapshotter over containerd's snapshots gRPC API, the way an
// external snapshotter does for containerd's proxy plugins (containerd
// contrib/snapshotservice). Keys are the caller's (no namespaces here); the request's
// `snapshotter` field is ignored; List ignores filters only if none are given (filters are
// applied on kind, name, parent and labels). Used by berth-snapshotter and by tests.

#include <memory>

#include "grpcpp/impl/codegen/service_type.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter::proxy {

// A gRPC service object for `backend` (which must outlive it), to register on a server.
std::unique_ptr<grpc::Service> NewSnapshotterService(Snapshotter& backend);

}  // namespace berth::snapshotter::proxy
