#pragma once

// The last steps of a container process before execve: rlimits, user and groups, fds, and
// the exec itself with PATH lookup in the container.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/oci/spec.h"

namespace berth::oci {

// Default dispositions for every signal and an empty mask, as a container's process must
// start with (ignored signals would survive its exec). Only the signals that differ are reset:
// one sigaction per signal, 64 of them, cost ~0.3 ms here.
void ResetSignals();

absl::Status SetRlimits(const std::vector<Rlimit>& rlimits);

// setgroups (unless `setgroups_allowed` is false, as in a user namespace with setgroups
// denied), setresgid, setresuid, keeping the permitted capabilities across the switch.
absl::Status SetUser(const User& user, bool setgroups_allowed);

// Resolves `file` through PATH from `env` (or the default PATH) in the current root.
absl::StatusOr<std::string> LookPath(const std::string& file, const std::vector<std::string>& env);

// Marks every fd from `first` up close-on-exec (fds below are 0-2 and --preserve-fds).
void CloexecFrom(int first);

// Closes every fd from `first` up except `keep`.
void CloseFdsExcept(int first, int keep);

// After chdir(process.cwd): fails unless the cwd is reachable from the process's root (a cwd
// reached through a host fd is not: the kernel reports it as "(unreachable)").
absl::Status CheckCwdInsideRoot(const std::string& cwd);

// execve of the process. Returns only on error.
absl::Status ExecProcess(const Process& process);

}  // namespace berth::oci
