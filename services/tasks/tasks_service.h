#pragma once

// containerd.services.tasks.v1.Tasks (grpc plugin "tasks"), as containerd 1.6's
// services/tasks/local.go: every call reads the container record for the namespace in the
// request context, then talks to the task's shim through the runtime plugin
// (runtime_v2::TaskManager). Shims publish the /tasks/* events themselves (create, start,
// exit, delete, exec-added, exec-started, paused, resumed, oom), as in 1.6; the daemon only
// synthesizes /tasks/exit and /tasks/delete for shims that died.
//
// Wait holds no thread: it uses gRPC's callback API; the shim's Task.Wait goes out as an
// asynchronous ttrpc call whose reply (or the dead-shim cleanup) finishes the RPC. A client
// that cancels finishes its call at once; the shim's reply is then dropped.
// Checkpoint answers Unimplemented.

#include "plugins/registry.h"

namespace berth::services {

void RegisterTasksService(plugins::Registry& registry);

}  // namespace berth::services
