#pragma once

// Puller: one image from a registry into a namespace (containerd's client-side pull, done in
// the daemon). Steps: resolve the reference; fetch the index (if any) and the manifests of the
// chosen platforms; download configs and layers concurrently into the content store under a
// lease; store the manifests and index with the gc.ref.content labels containerd sets
// (index: m.<i>; manifest: config, l.<i>) and a distribution.source label on every blob; create
// or update the image record; delete the lease.
//
// Progress goes to `report` from the calling thread only (gRPC stream writes are not
// thread-safe); downloads run on worker threads.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "berth/services/pull/v1/transfer.pb.h"
#include "services/distribution/auth.h"
#include "services/distribution/hosts.h"
#include "plugins/base/platform.h"
#include "services/metadata/metadata.h"
#include "services/unpack/unpacker.h"

namespace berth::pull {

namespace api = berth::services::pull::v1;

struct PullOptions {
  std::string reference;
  std::vector<Platform> platforms;  // empty: the host's
  bool all_platforms = false;
  bool plain_http = false;
  std::map<std::string, distribution::Credentials> credentials;  // from the client
  int concurrency = 3;
  // When set, a single-manifest pull unpacks each layer into `snapshotter` as soon as it is
  // stored (early_unpack.h), overlapping the downloads.
  unpack::Unpacker* early_unpacker = nullptr;
  std::string snapshotter;
};

using ReportFn = std::function<void(const api::Progress&)>;
using CancelledFn = std::function<bool()>;
// Runs after the image record is written, while the pull's lease still holds everything (the
// unpack: its snapshots join the lease until the config's gc.ref.snapshot label holds them).
using AfterFetchFn = std::function<absl::Status(const metadata::Image& image, const std::string& lease)>;

// Credentials for `host`: the client's, then the daemon config's (by host, then by domain).
distribution::Authorizer::Lookup CredentialLookup(
    const std::map<std::string, distribution::Credentials>& client,
    const distribution::RegistryConfig& config, const std::string& domain);

class Puller {
 public:
  Puller(metadata::Metadata& db, const distribution::RegistryConfig& registry)
      : db_(db), registry_(registry) {}

  // The image record (its target is the resolved descriptor) and whether it is new.
  absl::StatusOr<std::pair<metadata::Image, bool>> Pull(const std::string& ns, const PullOptions& options,
                                       const ReportFn& report, const CancelledFn& cancelled,
                                       const AfterFetchFn& after_fetch = nullptr);

 private:
  metadata::Metadata& db_;
  const distribution::RegistryConfig& registry_;
};

}  // namespace berth::pull
