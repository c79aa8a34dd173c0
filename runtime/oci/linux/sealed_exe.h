#pragma once

// Protection against the /proc/self/exe class of escapes (CVE-2019-5736). berth-runtime forks
// its init and exec processes without re-exec'ing, so until their final execve their
// /proc/<pid>/exe is the runtime's own binary, and a container image that makes them exec
// /proc/self/exe (a symlink or a `#!/proc/self/exe` script) runs that binary, dumpable, inside
// the container; a container process can then open it through /proc/<pid>/exe and write it
// once it is no longer executing. Running the program from a file nobody can write closes
// this: a detached read-only overlayfs view of the binary (no copy; what runc 1.2 does), or a
// sealed memfd copy (runc 1.0, crun) where overlayfs cannot be mounted.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "plugins/base/unique_fd.h"

namespace berth::oci {

// True when /proc/self/exe cannot be written: a memfd with F_SEAL_WRITE, or a file on a
// read-only mount.
bool SelfExeIsSealed();

// The binary at `path` opened so that nothing can write it: through a detached read-only
// overlayfs view of its directory, or as a sealed memfd copy where overlayfs cannot be
// mounted. A parent that execs a program through it ("/proc/self/fd/<fd>") spares the program
// its own ReexecSealed (the daemon does this for berth-shim). The fd pins the view.
absl::StatusOr<UniqueFd> OpenSealed(const std::string& path);

// Unless SelfExeIsSealed(), re-executes the running program (same argv and environment) from
// a sealed file. Returns OK without exec'ing when already sealed; otherwise returns only on
// error. Call it first thing in main, before any thread is started.
absl::Status ReexecSealed(char** argv);

}  // namespace berth::oci
