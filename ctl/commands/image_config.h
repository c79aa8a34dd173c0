#pragma once

// What `run` needs from an image: its record, the host platform's config (Env, Entrypoint, Cmd,
// WorkingDir, User, StopSignal) and the chain ID of its layers, which names the committed
// snapshot an unpacked image leaves in a snapshotter (containerd's identity.ChainID).

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ctl/client.h"
#include "nlohmann/json.hpp"

namespace berth::ctl {

struct ImageConfig {
  std::string name;      // the image record's name (normalised)
  nlohmann::json config;  // the image config's "config" object (may be empty)
  std::string chain_id;  // "sha256:..." of rootfs.diff_ids
};

// ChainID(L0) = DiffID(L0); ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(Ln)).
std::string ChainId(const std::vector<std::string>& diff_ids);

// Images.Get (the name normalised the Docker way, then as typed) and the config blob.
// NotFound "image `x` not found: load or pull it first".
absl::StatusOr<ImageConfig> ResolveImage(Client& client, const std::string& name);

// Unpacks the image into `snapshotter` through the daemon (berth Archive.Unpack), which makes
// the snapshot named by its chain ID; callers try the snapshot first and unpack when it is
// missing.
absl::Status Unpack(Client& client, const ImageConfig& image, const std::string& snapshotter);

}  // namespace berth::ctl
