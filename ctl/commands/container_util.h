#pragma once

// Shared pieces of the container commands (run, ps, start, stop, exec, ...): the defaults that
// berthctl applies, container lookup the Docker way (a name or a unique ID prefix), and thin
// wrappers over the Containers, Tasks, Snapshots and Leases RPCs that return absl::Status with
// the daemon's message.
//
// A berthctl container is a containerd container record whose snapshot key is its ID and whose
// labels name the image (kImageLabel), the last start (kStartedAtLabel) and, once a task ended and was deleted, its exit code and
// time (kExitCodeLabel, kFinishedAtLabel), so `ps -a` can show "Exited (N)" without keeping a
// shim alive for every stopped container. Per-container files (hosts, resolv.conf, hostname)
// live in StateDir(ns, id); stdio FIFOs directly in kFifoRoot (task_io.h).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "containerd/services/containers/v1/containers.pb.h"
#include "containerd/services/tasks/v1/tasks.pb.h"
#include "ctl/client.h"
#include "nlohmann/json.hpp"

namespace berth::ctl {

// The runtime `run` uses without --runtime. The one place to switch to io.containerd.berth.v1.
inline constexpr char kDefaultRuntime[] = "io.containerd.berth.v1";
inline constexpr char kDefaultSnapshotter[] = "overlayfs";
inline constexpr char kSpecTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
inline constexpr char kProcessTypeUrl[] =
    "types.containerd.io/opencontainers/runtime-spec/1/Process";
inline constexpr char kImageLabel[] = "berth.ctl/image";
inline constexpr char kExitCodeLabel[] = "berth.ctl/exit-code";
inline constexpr char kFinishedAtLabel[] = "berth.ctl/finished-at";
inline constexpr char kStartedAtLabel[] = "berth.ctl/started-at";
// containerd's label for the image config's StopSignal (ctr sets it too); `stop` sends it.
inline constexpr char kStopSignalLabel[] = "io.containerd.image.config.stop-signal";
inline constexpr char kStateRoot[] = "/run/berth/ctl";
inline constexpr char kFifoRoot[] = "/run/berth/fifo";

namespace containers_api = containerd::services::containers::v1;
namespace tasks_api = containerd::services::tasks::v1;
using Container = containers_api::Container;
using TaskProcess = containerd::v1::types::Process;
// A snapshot's mounts, as Snapshots.Prepare returns them and Tasks.Create takes them.
using Mounts = google::protobuf::RepeatedPtrField<containerd::types::Mount>;

// Exits the process with `code` after flushing stdio. Used by commands whose exit code is the
// container's (run, start -a, exec); main() only knows success (0) and failure (1).
[[noreturn]] void ExitWithCode(int code);

// Containers.Update of these labels only.
absl::Status SetLabels(Client& client, const std::string& id,
                       const std::map<std::string, std::string>& labels);
// The current time as a label value (unix seconds).
std::string NowLabel();

// The name of a namespace's entry in one of berthctl's flat directories: "<ns>@<name>" ('@'
// is in no identifier). Flat, with no directory per namespace: on a block device without a
// journal every directory made and removed costs a synchronous discard (~0.4 ms here), and a
// namespace's directory came and went with each run in it.
std::string NamespacedName(const std::string& ns, const std::string& name);
// /run/berth/ctl/<ns>@<id>: the container's hosts, resolv.conf and hostname.
std::string StateDir(const std::string& ns, const std::string& id);
// Removes StateDir, and the directory an older berthctl made for the same container
// (/run/berth/ctl/<ns>/<id>, then <ns> once empty), so containers made before the flat layout
// leave nothing behind either.
void RemoveStateDir(const std::string& ns, const std::string& id);
// A random 64-hex-digit container ID (Docker's form); `ps` shows the first 12.
std::string NewContainerId();
std::string ShortId(const std::string& id);

// Every container of the namespace.
absl::StatusOr<std::vector<Container>> ListContainers(Client& client);
// The container named `ref`: its exact ID or a unique ID prefix. NotFound "no such container".
absl::StatusOr<Container> FindContainer(Client& client, const std::string& ref);
// The container's OCI spec (JSON).
absl::StatusOr<nlohmann::json> ContainerSpec(const Container& container);

// The task's init process (exec_id empty) or an exec; nullopt if there is none.
absl::StatusOr<std::optional<TaskProcess>> GetTask(Client& client, const std::string& id,
                                                   const std::string& exec_id = "");
bool IsRunning(const TaskProcess& process);
// Blocks until the process exits; its exit status. `timeout_seconds` > 0 bounds the wait
// (DeadlineExceeded when it passes).
absl::StatusOr<uint32_t> WaitTask(Client& client, const std::string& id,
                                  const std::string& exec_id = "", int timeout_seconds = 0);
absl::Status KillTask(Client& client, const std::string& id, int signal,
                      const std::string& exec_id = "", bool all = false);
absl::Status StartTask(Client& client, const std::string& id, const std::string& exec_id = "");
// Deletes a stopped task, records its exit code on the container (labels; not when
// `record_exit` is false: the container is about to go), removes the FIFO directory berthctl
// made for it, and returns the exit status.
absl::StatusOr<uint32_t> DeleteTask(Client& client, const std::string& id,
                                    bool record_exit = true);
// Containers.Delete of the record alone (no task, snapshot or state directory).
absl::Status DeleteRecord(Client& client, const std::string& id);
// DeleteTask for a caller whose TaskIO owns the task's FIFOs (an attached run): nothing to look
// up or remove, so one call less.
absl::StatusOr<uint32_t> DeleteOwnTask(Client& client, const std::string& id, bool record_exit);
// SIGKILL, wait and delete if the task runs; delete if it stopped; nothing if there is none.
absl::Status ForceRemoveTask(Client& client, const std::string& id);

// "TERM", "SIGTERM", "15" -> 15. InvalidArgument otherwise.
absl::StatusOr<int> ParseSignal(const std::string& text);

// Docker-style status text: "Up 5 seconds", "Exited (3) 2 minutes ago", "Created".
std::string DescribeStatus(const Container& container, const std::optional<TaskProcess>& task);

}  // namespace berth::ctl
