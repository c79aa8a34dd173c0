#pragma once

// From an image target (index or manifest) in the namespaced content store to the layers to
// unpack for one platform: the manifest, its config, its layer descriptors and the config's
// diff ids, checked against each other. Chain ids as the OCI image spec defines them.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/types/descriptor.pb.h"
#include "plugins/base/platform.h"
#include "services/metadata/content.h"

namespace berth::unpack {

struct ImageLayers {
  containerd::types::Descriptor manifest;
  containerd::types::Descriptor config;
  std::vector<containerd::types::Descriptor> layers;
  std::vector<std::string> diff_ids;  // one per layer, from the config's rootfs
};

// Resolves `target` (following indexes to the first manifest matching `platform`). NotFound
// when a blob is missing or no manifest matches; InvalidArgument for malformed JSON or a
// config whose diff ids do not match the layer count.
absl::StatusOr<ImageLayers> ResolveImageLayers(metadata::ContentMetadata& content,
                                               const std::string& ns,
                                               const containerd::types::Descriptor& target,
                                               const Platform& platform);

// The rootfs diff ids of the image config blob `config_digest`.
absl::StatusOr<std::vector<std::string>> ReadDiffIds(metadata::ContentMetadata& content,
                                                     const std::string& ns,
                                                     const std::string& config_digest);

// chain[0] = diff_ids[0]; chain[i] = sha256(chain[i-1] + " " + diff_ids[i]).
std::vector<std::string> ChainIds(const std::vector<std::string>& diff_ids);

}  // namespace berth::unpack
