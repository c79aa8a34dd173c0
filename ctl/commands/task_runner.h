#pragma once

// Creating a container's task and running a process of it in the foreground, shared by run,
// start, exec and attach. The order is ctr's: FIFOs made and opened before Tasks.Create (or
// Exec), Tasks.Wait issued before Tasks.Start so a fast exit is not missed (the daemon also
// answers Wait for an already-stopped process), then stdio copied and signals forwarded until
// Wait returns.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "ctl/client.h"
#include "ctl/commands/container_util.h"
#include "ctl/commands/task_io.h"

namespace berth::ctl {

// Tasks.Create for `container` with `rootfs` (its snapshot's mounts; null: asked of the
// daemon) and `io`'s FIFOs (`io` may be null: no stdio). Returns the init pid.
absl::StatusOr<uint32_t> CreateTask(Client& client, const Container& container,
                                    const Mounts* rootfs, TaskIO* io, bool terminal);

struct Session {
  std::string id;
  std::string exec_id;  // "" for the init process
  bool terminal = false;
  bool start = true;    // false: the process already runs (attach)
};

// Waits on the process, starts it (session.start), copies stdio through `io`, puts the local
// terminal in raw mode and forwards SIGWINCH as ResizePty when `terminal`, forwards other
// signals as Tasks.Kill, and returns the exit status once the process has exited and its
// output has drained. Errors of Start come back as they are; the caller cleans up.
absl::StatusOr<uint32_t> RunSession(Client& client, TaskIO& io, const Session& session);

// Removes a container and what berthctl made for it: its task (must not run unless `force`),
// snapshot, record and state directory.
absl::Status RemoveContainer(Client& client, const Container& container, bool force);
// RemoveContainer for a container whose task is known to be gone (an attached run deleted it).
absl::Status RemoveStoppedContainer(Client& client, const Container& container);

}  // namespace berth::ctl
