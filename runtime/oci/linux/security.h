#pragma once

// Process security settings applied by the init (and exec) process right before execve:
// capabilities through libcap (capabilities.cc) and the seccomp filter through libseccomp
// (seccomp.cc, compiled ahead and cached: seccomp_cache.h).

#include <linux/filter.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/oci/spec.h"

namespace berth::oci {

// Drops every capability not in `caps.bounding` from the bounding set (needs CAP_SETPCAP,
// so it runs before the user switch).
absl::Status DropBoundingSet(const Capabilities& caps);

// Sets the effective, permitted and inheritable sets, then the ambient set.
absl::Status ApplyCapabilities(const Capabilities& caps);

// A seccomp filter compiled to BPF, ready for seccomp(2). The runtime compiles it before it
// clones the init (or an exec's process), so the child only makes the syscall: compiling
// Docker's default profile with libseccomp takes ~10 ms, which used to sit between `start`
// and the container's exec.
struct SeccompProgram {
  std::vector<sock_filter> code;
  unsigned int flags = 0;  // SECCOMP_FILTER_FLAG_LOG, _SPEC_ALLOW
};

// Compiles `seccomp`, checking every name, action, operator, architecture and rule, so create
// fails in the parent with a clear message and nothing left behind (kInvalidArgument).
// With a non-empty `cache_dir`, a program compiled earlier for the same profile, libseccomp
// and kernel is read from there instead, and a new one is stored there (seccomp_cache.h).
absl::StatusOr<SeccompProgram> CompileSeccomp(const Seccomp& seccomp,
                                              const std::string& cache_dir);

// Installs `program` on the calling thread. Needs no_new_privs set, or CAP_SYS_ADMIN.
absl::Status LoadSeccomp(const SeccompProgram& program);

}  // namespace berth::oci
