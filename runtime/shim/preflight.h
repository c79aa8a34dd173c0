#pragma once

// Checks done before the runtime creates anything, so that a task that cannot run fails at
// Create with a clear error (as runc's create does) instead of leaving a created task whose
// Start fails.

#include <string>

#include "absl/status/status.h"

namespace berth::shim {

// NotFound or FailedPrecondition (naming the path) unless process.args[0] of the bundle's
// config.json resolves, inside the rootfs and through process.env's PATH, to an executable
// file. Binaries that a spec mount may provide are not checked.
absl::Status CheckProcessExecutable(const std::string& bundle);

}  // namespace berth::shim
