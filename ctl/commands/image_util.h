#pragma once

// Helpers of the image commands: Docker reference handling, human-readable sizes and ages, and
// reading an image's manifest through the Content service (as ctr does for `images ls`).

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "containerd/types/descriptor.pb.h"
#include "ctl/client.h"
#include "google/protobuf/timestamp.pb.h"
#include "nlohmann/json.hpp"

namespace berth::ctl {

// "busybox" -> "docker.io/library/busybox:latest" (digest references keep their digest).
std::string NormalizeReference(const std::string& name);
// "repo@sha256:..." without a tag.
bool IsDigestOnlyReference(const std::string& name);
// Repository (familiar for docker.io) and tag ("<none>" when the name has none).
std::pair<std::string, std::string> SplitReference(const std::string& name);
// 1000-based like docker: "4.2MB", "512B".
std::string HumanSize(int64_t bytes);
// "5 minutes ago".
std::string HumanAge(const google::protobuf::Timestamp& stamp);
std::string FormatTimestamp(const google::protobuf::Timestamp& stamp);

// The whole blob through Content.Read.
absl::StatusOr<std::string> ReadBlob(Client& client, const std::string& digest);
// The manifest (parsed) for the host platform under `target` (an index or a manifest).
absl::StatusOr<nlohmann::json> HostManifest(Client& client, const containerd::types::Descriptor& target);
// Sum of the sizes of the index (if any), the host manifest, its config and layers.
absl::StatusOr<int64_t> ImageSize(Client& client, const containerd::types::Descriptor& target);

}  // namespace berth::ctl
