#pragma once

// Pieces shared by the container*.cc files. Internal to runtime/oci.

#include <memory>

#include "plugins/base/unique_fd.h"
#include "runtime/oci/container.h"

namespace berth::oci {

// A container being born: what CreateInternal hands to Run.
struct Runtime::Launch {
  UniqueFd sync_fd;  // Parent end of the setup socketpair (Run releases the init over it).
  std::unique_ptr<CgroupManager> cgroups;
  Spec spec;
  std::string bundle;       // Absolute.
  std::string rootfs;       // Absolute, resolved.
  std::string config_json;  // As read from the bundle.
};

}  // namespace berth::oci
