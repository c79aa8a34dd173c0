#pragma once

// Namespaces: which to create at clone time, joining existing ones by path, and the user
// namespace id maps written by the parent.

#include <sys/types.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "plugins/base/unique_fd.h"
#include "runtime/oci/spec.h"

namespace berth::oci {

// CLONE_NEW* flags of the namespaces to create (those listed without a path).
int NewNamespaceFlags(const Linux& linux_config);

// setns() into every namespace listed with a path; the user namespace first, so the others
// are joined with its capabilities.
absl::Status JoinNamespaces(const Linux& linux_config);

// Writes /proc/<pid>/{uid,gid}_map from the spec's mappings.
absl::Status WriteIdMappings(pid_t pid, const Linux& linux_config);

// A new network namespace no process is in, held by the returned fd; the caller stays in its
// own. Making one is most of a container clone's time here (~0.5 ms of ~0.7): berth-shim makes
// it ahead, while it waits as a spare, and the init joins it (CreateOptions::ready_netns_fd).
absl::StatusOr<UniqueFd> NewNetworkNamespace();

// Whether a container of `linux_config` may join a network namespace made ahead instead of
// creating one: it asks for a new one and has no user namespace (which would own a new one).
bool MayUseReadyNetworkNamespace(const Linux& linux_config);

// The flags of the namespaces of `pid` that differ from ours, restricted to `wanted`.
int DifferingNamespaces(pid_t pid, int wanted);

}  // namespace berth::oci
