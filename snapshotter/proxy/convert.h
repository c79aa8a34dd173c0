#pragma once

// Conversions between the Snapshotter model (snapshotter/snapshotter.h, mount.h) and
// containerd's snapshots API messages (containerd.services.snapshots.v1, containerd.types).
// Shared by the daemon's Snapshots service, the proxy snapshotter and berth-snapshotter.

#include <vector>

#include "containerd/services/snapshots/v1/snapshots.pb.h"
#include "containerd/types/mount.pb.h"
#include "google/protobuf/repeated_field.h"
#include "snapshotter/mount.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter {

namespace snapshots_api = containerd::services::snapshots::v1;

snapshots_api::Info ToProto(const SnapshotInfo& info);
SnapshotInfo FromProto(const snapshots_api::Info& info);

containerd::types::Mount ToProto(const Mount& mount);
Mount FromProto(const containerd::types::Mount& mount);

void AppendMounts(const std::vector<Mount>& mounts,
                  google::protobuf::RepeatedPtrField<containerd::types::Mount>* out);
std::vector<Mount> MountsFromProto(
    const google::protobuf::RepeatedPtrField<containerd::types::Mount>& mounts);

template <typename ProtoMap>
Labels LabelsFromProto(const ProtoMap& labels) {
  return Labels(labels.begin(), labels.end());
}

}  // namespace berth::snapshotter
