#pragma once

// Parser pieces shared between spec*.cc files. Internal to runtime/oci.

#include "absl/status/status.h"
#include "runtime/oci/json_reader.h"
#include "runtime/oci/spec.h"

namespace berth::oci::internal {

// Parses the "linux" object.
absl::Status ParseLinux(const json::Json& obj, Linux* linux_config);

// Parses a "resources" object (also the input of `update -r`).
absl::Status ParseResources(const json::Json& obj, absl::string_view path, Resources* resources);

}  // namespace berth::oci::internal
