#pragma once

// Compiled seccomp programs kept on disk, so that the containers of one profile (Docker's
// default, for nearly all of them) pay libseccomp's compile once per runtime root instead of
// once per container. Each shim is a new process: an in-memory cache would never hit.
//
// A program depends on the profile, on libseccomp (its version and the API level it detected)
// and on the kernel and architecture. All of that is the key (SeccompCacheKey). Files are
// named by a hash of the key but hold the whole key, compared byte for byte on every read, so
// a hash collision can only miss, never hand out another profile's filter. The directory is
// made 0700 and used only if the caller's euid owns it and nobody else can write it: whoever
// can replace a program there could already replace the runtime.
//
// File: "BERTHBPF" | u32 key size | u32 flags | u32 instruction count | key | instructions.
// Anything that does not parse is a miss (and is overwritten by the next store). Writes are
// a per-pid temp file renamed into place, so concurrent runtimes never see half a file.

#include <optional>
#include <string>

#include "runtime/oci/linux/security.h"
#include "runtime/oci/spec.h"

namespace berth::oci {

// The layout CompileSeccomp asks libseccomp for (SCMP_FLTATR_CTL_OPTIMIZE): 2 sorts the
// syscalls into a binary tree. The kernel, on loading a filter, runs it once per syscall number
// of each architecture to find the ones it can allow without running it again (its action
// cache): a linear filter makes that load cost grow with the profile. Docker's default profile
// here: ~0.75 ms to load in the linear layout, ~0.3 ms as a tree (tests/bench/tasks: the
// container's Start). Part of every key, so programs of another layout are not reused.
inline constexpr int kSeccompOptimizeLevel = 2;

// Everything the compiled program depends on, as one string.
std::string SeccompCacheKey(const Seccomp& seccomp);

// The program stored under `key`, if a well-formed one is there.
std::optional<SeccompProgram> ReadCachedSeccomp(const std::string& dir, const std::string& key);

// Stores `program` under `key`, best effort: a failure only costs the next compile.
void StoreCachedSeccomp(const std::string& dir, const std::string& key,
                        const SeccompProgram& program);

}  // namespace berth::oci
