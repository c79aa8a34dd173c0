#pragma once

// Pieces shared by the container*.cc files. Internal to runtime/oci.

#include <memory>
#include <optional>

#include "plugins/base/unique_fd.h"
#include "runtime/oci/container.h"
#include "runtime/oci/linux/security.h"

namespace berth::oci {

// A container being born: what CreateInternal hands to Run.
struct Runtime::Launch {
  UniqueFd sync_fd;  // Parent end of the setup socketpair (Run releases the init over it).
  std::unique_ptr<CgroupManager> cgroups;
  Spec spec;
  std::string bundle;       // Absolute.
  std::string rootfs;       // Absolute, resolved.
  std::string config_json;  // As read from the bundle.
  std::optional<SeccompProgram> seccomp;  // linux.seccomp, compiled before the clone.
};

// Where a runtime keeps compiled seccomp programs: beside its containers' state directories
// (StateStore::List skips dot names).
std::string SeccompCacheDir(const StateStore& store);

}  // namespace berth::oci
