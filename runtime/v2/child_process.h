#pragma once

// Running the shim binary's one-shot subcommands (`start`, `delete`): posix_spawn with a
// working directory, extra environment, bytes on stdin, stdout and stderr captured separately, and a
// timeout after which the child is killed (by PID) and reaped. Nothing is left running or
// unreaped when RunCommand returns.

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace berth::runtime_v2 {

struct CommandSpec {
  std::vector<std::string> argv;  // argv[0] must be a path
  std::string exec_path;          // the file exec'd, if not argv[0] (e.g. /proc/self/fd/N)
  std::string cwd;                // empty: inherit
  std::vector<std::string> env;   // "K=V" added to (replacing in) the daemon's environment
  std::string stdin_data;         // written to a pipe before exec; empty: /dev/null
  absl::Duration timeout = absl::Seconds(10);
};

struct CommandOutput {
  int wait_status = 0;
  std::string out;
  std::string err;
  bool exited_ok() const;
  // "exit status 1" / "signal 9" for error messages.
  std::string Describe() const;
};

// Runs the command to completion. DeadlineExceeded if it had to be killed, Internal/NotFound if
// it could not be started. A non-zero exit is not an error here: look at wait_status.
absl::StatusOr<CommandOutput> RunCommand(const CommandSpec& spec);

}  // namespace berth::runtime_v2
