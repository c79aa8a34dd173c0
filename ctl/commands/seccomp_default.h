#pragma once

// Docker's default seccomp profile (moby profiles/seccomp/default.json, as containerd's
// contrib/seccomp ships it) as an OCI linux.seccomp object: errno (EPERM) for every syscall
// that is not allowed, an allow-list of ~350 syscalls, personality() only with the harmless
// personas, namespace-creating clone() flags only with CAP_SYS_ADMIN (clone3 -> ENOSYS without
// it, so libcs fall back to clone), and the syscalls each added capability unlocks.

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace berth::ctl {

// The profile for a process whose bounding set is `capabilities` ("CAP_SYS_ADMIN", ...), for
// the host's architecture.
nlohmann::json DefaultSeccompProfile(const std::vector<std::string>& capabilities);

}  // namespace berth::ctl
