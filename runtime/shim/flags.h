#pragma once

// The shim v2 command line (containerd's runtime/v2/shim/shim.go flags):
//
//   berth-shim -namespace NS -address GRPC -publish-binary BIN -id ID [-bundle DIR] [-debug]
//              [-spare] VERB
//
// VERB is "start" (fork the server, print its address), "delete" (force-clean a dead shim's
// container, print a DeleteResponse) or absent (serve on fd 3; not used by Berth's own start,
// which forks, but accepted for compatibility). Flags take Go's forms: -f v, -f=v, --f v.

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::shim {

struct Flags {
  std::string ns;
  std::string address;         // The daemon's gRPC address.
  std::string publish_binary;  // The daemon's executable (fallback for events).
  std::string id;
  std::string bundle;          // Defaults to the cwd (the daemon starts shims in the bundle).
  std::string socket;          // -socket: serve on this unix address (tests and debugging).
  bool debug = false;
  // -spare: started ahead of any task; berth.shim.v1.Spare/Adopt names the task later. Berth's
  // own; containerd never passes it.
  bool spare = false;
  std::string spare_room;  // -spare-room: padding, room on the command line for the task
  std::string verb;
  std::string ttrpc_address;   // From $TTRPC_ADDRESS.
  std::vector<std::string> argv;  // As given (an adopted spare shows its task's in ps).
};

// InvalidArgument naming the flag for an unknown flag, a missing value or a missing -id.
absl::StatusOr<Flags> ParseFlags(int argc, char** argv);

}  // namespace berth::shim
