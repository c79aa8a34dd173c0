#pragma once

// The diff plugins:
//   io.containerd.differ.v1.walking  Apply (applier.h) and Diff (write_diff.h), reading and
//                                    writing blobs through the namespaced content store
//   io.containerd.grpc.v1.diff       containerd.services.diff.v1.Diff over it
//
// Config [plugins."io.containerd.differ.v1.walking"]:
//   allow_devices = true            # device nodes in layers (as containerd)
//   max_layer_size = 0              # bytes; refuse layers expanding past this (0 = no cap)

#include "plugins/registry.h"

namespace berth::services {

void RegisterDiffService(plugins::Registry& registry);

}  // namespace berth::services
