#pragma once

// containerd's cgroup metrics (github.com/containerd/cgroups stats/v1 "Metrics", the message
// `ctr t metrics` decodes for type io.containerd.cgroups.v1.Metrics) encoded straight to the
// protobuf wire format: the shim has no generated code for it and needs only these fields.

#include <string>

#include "google/protobuf/any.pb.h"
#include "runtime/oci/linux/cgroups.h"

namespace berth::shim {

google::protobuf::Any MetricsV1Any(const oci::CgroupStats& stats);

}  // namespace berth::shim
