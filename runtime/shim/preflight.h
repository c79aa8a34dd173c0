#pragma once

// Checks done before the runtime creates anything, so that a task that cannot run fails at
// Create with a clear error (as runc's create does) instead of leaving a created task whose
// Start fails.

#include <string>

#include "absl/status/status.h"
#include "runtime/oci/spec.h"

namespace berth::shim {

// NotFound or FailedPrecondition (naming the path) unless process.args[0] of `spec` resolves,
// inside `rootfs` and through process.env's PATH, to an executable file. Binaries that a spec
// mount may provide are not checked. The in-process runtime calls it with the spec it parsed.
absl::Status CheckProcessExecutable(const oci::Spec& spec, const std::string& rootfs);

// The same check of a bundle's config.json, for runtimes run as binaries.
absl::Status CheckBundleExecutable(const std::string& bundle);

}  // namespace berth::shim
