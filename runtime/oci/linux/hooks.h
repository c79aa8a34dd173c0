#pragma once

// OCI hooks: each runs with the container state JSON on stdin, its own args and env, and an
// optional timeout; a non-zero exit or a timeout is an error naming the hook.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "runtime/oci/spec.h"

namespace berth::oci {

// Runs `hooks` in order and stops at the first failure. `phase` ("prestart", ...) is for the
// message.
absl::Status RunHooks(const std::vector<Hook>& hooks, absl::string_view state_json,
                      absl::string_view phase);

}  // namespace berth::oci
