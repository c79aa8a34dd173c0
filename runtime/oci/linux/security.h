#pragma once

// Process security settings applied by the init (and exec) process right before execve:
// capabilities through libcap (capabilities.cc) and the seccomp filter through libseccomp
// (seccomp.cc).

#include "absl/status/status.h"
#include "runtime/oci/spec.h"

namespace berth::oci {

// Drops every capability not in `caps.bounding` from the bounding set (needs CAP_SETPCAP,
// so it runs before the user switch).
absl::Status DropBoundingSet(const Capabilities& caps);

// Sets the effective, permitted and inheritable sets, then the ambient set.
absl::Status ApplyCapabilities(const Capabilities& caps);

// Compiles `seccomp` into a BPF filter and loads it. `no_new_privs` tells libseccomp whether
// PR_SET_NO_NEW_PRIVS is already wanted; otherwise loading needs CAP_SYS_ADMIN.
// kInvalidArgument for an unknown action, syscall-independent operator or architecture.
absl::Status LoadSeccomp(const Seccomp& seccomp, bool no_new_privs);

// Checks the profile (names, actions, operators, architectures) without loading it, so
// create fails in the parent with a clear message and nothing left behind.
absl::Status CheckSeccomp(const Seccomp& seccomp);

}  // namespace berth::oci
