#pragma once

// The graph a pull fetches, read from the registry before any blob is downloaded: the top
// descriptor (index or manifest) and, for each chosen platform, a manifest with its config and
// layers. Platform choice follows containerd: the requested platforms (default the host's), or
// every manifest with --all-platforms; nothing matching is NotFound naming what the index has.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "plugins/base/platform.h"
#include "services/distribution/registry_client.h"

namespace berth::pull {

struct ManifestPlan {
  distribution::Descriptor desc;
  std::string bytes;
  distribution::Descriptor config;
  std::vector<distribution::Descriptor> layers;
  int index_position = -1;  // position in the index's manifests, -1 without an index
};

struct PullPlan {
  distribution::Descriptor top;
  std::string top_bytes;  // the index's bytes (empty when top is a manifest)
  std::vector<ManifestPlan> manifests;
  // Every config and layer once, in manifest order.
  std::vector<distribution::Descriptor> Blobs() const;
};

absl::StatusOr<PullPlan> PlanPull(distribution::RegistryClient& client,
                                  const distribution::Descriptor& top,
                                  const std::vector<Platform>& platforms,
                                  bool all_platforms, const std::string& what);

// Parses a manifest's config and layers. InvalidArgument on malformed JSON.
// An index entry's "platform" object.
Platform PlatformFromJson(const nlohmann::json& platform);

absl::Status ParseManifest(const std::string& bytes, ManifestPlan& plan);

}  // namespace berth::pull
