#pragma once

// Namespaces: which to create at clone time, joining existing ones by path, and the user
// namespace id maps written by the parent.

#include <sys/types.h>

#include "absl/status/status.h"
#include "runtime/oci/spec.h"

namespace berth::oci {

// CLONE_NEW* flags of the namespaces to create (those listed without a path).
int NewNamespaceFlags(const Linux& linux_config);

// setns() into every namespace listed with a path; the user namespace first, so the others
// are joined with its capabilities.
absl::Status JoinNamespaces(const Linux& linux_config);

// Writes /proc/<pid>/{uid,gid}_map from the spec's mappings.
absl::Status WriteIdMappings(pid_t pid, const Linux& linux_config);

// The flags of the namespaces of `pid` that differ from ours, restricted to `wanted`.
int DifferingNamespaces(pid_t pid, int wanted);

}  // namespace berth::oci
