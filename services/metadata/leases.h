#pragma once

// Leases in the metadata database. A lease protects the resources attached to it (content
// blobs, ingests, snapshots) from garbage collection until it is deleted or expires (label
// containerd.io/gc.expire, RFC 3339). Resource types are containerd's: "content" (id is a
// digest), "ingests" (id is an ingest ref) and "snapshots/<snapshotter>" (id is a key).

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/services/leases/v1/leases.pb.h"
#include "services/metadata/db.h"

namespace berth::metadata {

using Lease = containerd::services::leases::v1::Lease;
using LeaseResource = containerd::services::leases::v1::Resource;

inline constexpr char kGcExpireLabel[] = "containerd.io/gc.expire";

class LeaseStore {
 public:
  explicit LeaseStore(Db& db) : db_(db) {}

  // InvalidArgument for a bad id (empty included) or labels; AlreadyExists.
  absl::StatusOr<Lease> Create(const std::string& ns, Lease lease);
  // NotFound if absent. Removes the lease and its resource references.
  absl::Status Delete(const std::string& ns, const std::string& id);
  absl::StatusOr<std::vector<Lease>> List(const std::string& ns,
                                          const std::function<bool(const Lease&)>& match);
  // NotFound if the lease is absent (for a missing lease header the caller says "lease does not
  // exist"); InvalidArgument for an unsupported resource type or a malformed content digest.
  // Adding an attached resource again, or deleting an absent one, is not an error.
  absl::Status AddResource(const std::string& ns, const std::string& id,
                           const LeaseResource& resource);
  absl::Status DeleteResource(const std::string& ns, const std::string& id,
                              const LeaseResource& resource);
  absl::StatusOr<std::vector<LeaseResource>> ListResources(const std::string& ns,
                                                           const std::string& id);
  // NotFound unless the lease exists in `ns`.
  absl::Status CheckExists(const std::string& ns, const std::string& id);

 private:
  Db& db_;
};

absl::Status ValidateLeaseResource(const LeaseResource& resource);

// containerd's generated lease id, "<unix nanoseconds>-<3 random bytes, URL-safe base64>", for
// a Create without an id (`ctr leases create` sends none).
std::string GenerateLeaseId();

}  // namespace berth::metadata
