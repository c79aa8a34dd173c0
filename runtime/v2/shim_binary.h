#pragma once

// The shim binary's command-line protocol (containerd's runtime/v2/binary.go, shim/util.go):
//
//   <shim> -namespace NS -address GRPC -publish-binary DAEMON -id ID [-debug] start
//   <shim> -namespace NS -address GRPC -publish-binary DAEMON -id ID -bundle PATH delete
//
// cwd = the bundle, env += TTRPC_ADDRESS=<ttrpc address> and GOMAXPROCS=2, stdin = the
// serialized google.protobuf.Any of the runtime options (bare type URL, e.g.
// containerd.runc.v1.Options) or nothing. `start` prints the shim's ttrpc address; `delete`
// prints a serialized containerd.task.v2.DeleteResponse after force-cleaning the container.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "containerd/runtime/task/v2/shim.pb.h"
#include "plugins/base/unique_fd.h"
#include "runtime/v2/bundle.h"

namespace berth::runtime_v2 {

struct ShimEnv {
  std::string grpc_address;    // -address
  std::string ttrpc_address;   // TTRPC_ADDRESS
  std::string publish_binary;  // -publish-binary: the daemon's executable
  bool debug = false;
};

// The shim binary for a runtime name: an absolute path is used as is; io.containerd.berth.v1
// -> berth-shim (or containerd-shim-berth-v1); otherwise containerd's rule
// "a.b.<name>.<version>" -> containerd-shim-<name>-<version>. Looked up in PATH, then next to
// the daemon executable. NotFound naming the runtime if there is none.
absl::StatusOr<std::string> ResolveShimBinary(absl::string_view runtime);

// The binary name(s) for a runtime name (no lookup), for tests and messages.
std::vector<std::string> ShimBinaryNames(absl::string_view runtime);

// What `start` printed: a plain address (1.6 shims), or JSON {"version":2|3,"address":...,
// "protocol":"ttrpc"} (1.7+). Returns the address. InvalidArgument for an unsupported protocol
// or version, or empty output.
absl::StatusOr<std::string> ParseStartOutput(absl::string_view output);

// Creates <bundle>/log as a FIFO (if absent) and opens it O_RDWR|O_NONBLOCK, so the shim's
// blocking open for writing never waits and the shim never gets SIGPIPE while we hold it.
absl::StatusOr<UniqueFd> OpenShimLog(const Bundle& bundle);

// Runs `start` (with berth-shim's -spare if `spare`) and returns the shim's address.
absl::StatusOr<std::string> StartShim(const std::string& binary, const Bundle& bundle,
                                      const ShimEnv& env, const std::string& options_any,
                                      bool spare = false);

// Runs `delete` (dead-shim cleanup) and returns what it printed.
absl::StatusOr<containerd::task::v2::DeleteResponse> DeleteShim(const std::string& binary,
                                                                const Bundle& bundle,
                                                                const ShimEnv& env);

}  // namespace berth::runtime_v2
