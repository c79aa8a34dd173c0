#pragma once

// The gRPC edge: what every service handler uses to read its request context and to turn
// absl::Status into grpc::Status (a cast of the code: absl's codes equal gRPC's, which is what
// containerd's errdefs map to). Handlers end with `return ToGrpc(status);`.

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "services/common/fast_method.h"

namespace berth::services {

// gRPC metadata keys set by containerd clients.
inline constexpr char kNamespaceHeader[] = "containerd-namespace";
inline constexpr char kLeaseHeader[] = "containerd-lease";

grpc::Status ToGrpc(const absl::Status& status);

// The namespace from the `containerd-namespace` header: FailedPrecondition if missing
// ("namespace is required"), InvalidArgument if not a valid identifier.
absl::StatusOr<std::string> RequireNamespace(const grpc::ServerContextBase& context);
absl::StatusOr<std::string> RequireNamespace(const RequestHeaders& headers);

// The lease from the `containerd-lease` header, if any.
std::optional<std::string> LeaseFromContext(const grpc::ServerContextBase& context);

}  // namespace berth::services
