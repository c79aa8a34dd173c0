#include "services/common/grpc_status.h"

#include "plugins/base/identifiers.h"
#include "plugins/base/status_util.h"

namespace berth::services {
namespace {

std::optional<std::string> Header(const grpc::ServerContextBase& context, const char* key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(key);
  if (it == metadata.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

absl::StatusOr<std::string> CheckNamespace(const std::optional<std::string>& ns) {
  if (!ns || ns->empty()) {
    return absl::FailedPreconditionError("namespace is required: failed precondition");
  }
  absl::Status valid = ValidateIdentifier(*ns);
  if (!valid.ok()) return Annotate(valid, "namespace validation");
  return *ns;
}

}  // namespace

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

absl::StatusOr<std::string> RequireNamespace(const grpc::ServerContextBase& context) {
  return CheckNamespace(Header(context, kNamespaceHeader));
}

absl::StatusOr<std::string> RequireNamespace(const RequestHeaders& headers) {
  std::optional<std::string_view> ns = headers.Get(kNamespaceHeader);
  if (!ns) return CheckNamespace(std::nullopt);
  return CheckNamespace(std::string(*ns));
}

std::optional<std::string> LeaseFromContext(const grpc::ServerContextBase& context) {
  std::optional<std::string> lease = Header(context, kLeaseHeader);
  if (lease && lease->empty()) return std::nullopt;
  return lease;
}

}  // namespace berth::services
