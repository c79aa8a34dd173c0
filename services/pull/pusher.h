#pragma once

// Pusher: a local image to a registry. For each manifest (the target, or the index's entries
// present locally and matching the platforms asked for), the config and layers the registry
// lacks are uploaded (HEAD first; a cross-repository mount when the blob came from another
// repository of the same registry, per its distribution.source label), then the manifest by
// digest; finally the target under the reference's tag (or digest).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/distribution/hosts.h"
#include "plugins/base/platform.h"
#include "services/metadata/metadata.h"
#include "services/pull/puller.h"

namespace berth::pull {

struct PushOptions {
  std::string image;      // local name
  std::string reference;  // destination; empty = the image name
  std::vector<Platform> platforms;  // empty = all present
  bool plain_http = false;
  std::map<std::string, distribution::Credentials> credentials;
  int64_t chunk_size = 64 << 20;  // larger blobs go up in PATCH chunks
};

class Pusher {
 public:
  Pusher(metadata::Metadata& db, const distribution::RegistryConfig& registry)
      : db_(db), registry_(registry) {}

  // Returns the pushed target's descriptor.
  absl::StatusOr<containerd::types::Descriptor> Push(const std::string& ns,
                                                     const PushOptions& options,
                                                     const ReportFn& report);

 private:
  metadata::Metadata& db_;
  const distribution::RegistryConfig& registry_;
};

}  // namespace berth::pull
