#include "snapshotter/proxy/convert.h"

#include "absl/time/time.h"

namespace berth::snapshotter {
namespace {

google::protobuf::Timestamp TimeToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t nanos = absl::ToUnixNanos(t);
  ts.set_seconds(nanos / 1000000000);
  ts.set_nanos(static_cast<int32_t>(nanos % 1000000000));
  return ts;
}

absl::Time TimeFromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace

snapshots_api::Info ToProto(const SnapshotInfo& info) {
  snapshots_api::Info out;
  out.set_name(info.name);
  out.set_parent(info.parent);
  out.set_kind(static_cast<snapshots_api::Kind>(info.kind));
  *out.mutable_created_at() = TimeToProto(info.created_at);
  *out.mutable_updated_at() = TimeToProto(info.updated_at);
  for (const auto& [k, v] : info.labels) (*out.mutable_labels())[k] = v;
  return out;
}

SnapshotInfo FromProto(const snapshots_api::Info& info) {
  SnapshotInfo out;
  out.name = info.name();
  out.parent = info.parent();
  out.kind = static_cast<Kind>(info.kind());
  out.created_at = TimeFromProto(info.created_at());
  out.updated_at = TimeFromProto(info.updated_at());
  out.labels = LabelsFromProto(info.labels());
  return out;
}

containerd::types::Mount ToProto(const Mount& mount) {
  containerd::types::Mount out;
  out.set_type(mount.type);
  out.set_source(mount.source);
  out.set_target(mount.target);
  for (const std::string& option : mount.options) out.add_options(option);
  return out;
}

Mount FromProto(const containerd::types::Mount& mount) {
  return Mount{mount.type(), mount.source(), mount.target(),
               std::vector<std::string>(mount.options().begin(), mount.options().end())};
}

void AppendMounts(const std::vector<Mount>& mounts,
                  google::protobuf::RepeatedPtrField<containerd::types::Mount>* out) {
  for (const Mount& mount : mounts) *out->Add() = ToProto(mount);
}

std::vector<Mount> MountsFromProto(
    const google::protobuf::RepeatedPtrField<containerd::types::Mount>& mounts) {
  std::vector<Mount> out;
  out.reserve(mounts.size());
  for (const auto& mount : mounts) out.push_back(FromProto(mount));
  return out;
}

}  // namespace berth::snapshotter
