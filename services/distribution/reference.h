#pragma once

// A registry reference split into its parts. Input is the normalised form produced by
// archive::NormalizeReference (Docker's rules: "busybox" -> "docker.io/library/busybox:latest"):
//   <domain>/<path>[:<tag>][@<digest>]
// docker.io is served by registry-1.docker.io (RegistryHost).

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::distribution {

struct Reference {
  std::string domain;  // "docker.io", "127.0.0.1:5000"
  std::string path;    // "library/busybox"
  std::string tag;     // may be empty when digest is set
  std::string digest;  // "sha256:..." or empty

  // domain/path[:tag][@digest]
  std::string String() const;
  // What /v2/<path>/manifests/<object> names: the digest if any, else the tag.
  const std::string& Object() const { return digest.empty() ? tag : digest; }
};

// InvalidArgument for an empty domain or path, bad characters, or a malformed digest.
absl::StatusOr<Reference> ParseNormalizedReference(absl::string_view normalized);

// The host that serves `domain`'s API ("docker.io" -> "registry-1.docker.io").
std::string RegistryHost(absl::string_view domain);

// Whether `host` (with or without port) is a loopback name: localhost, 127.x, [::1].
bool IsLoopbackHost(absl::string_view host);

}  // namespace berth::distribution
