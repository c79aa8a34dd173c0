#pragma once

// OCI / Docker image vocabulary shared by the importer and exporter: media types, the
// containerd labels and annotations, and Docker reference normalisation.

#include <string>

#include "absl/strings/string_view.h"

namespace berth::archive {

inline constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kOciConfig[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char kDockerManifestList[] =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kDockerConfig[] = "application/vnd.docker.container.image.v1+json";
inline constexpr char kDockerLayer[] = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr char kDockerLayerGzip[] = "application/vnd.docker.image.rootfs.diff.tar.gzip";

inline constexpr char kAnnotationImageName[] = "io.containerd.image.name";
inline constexpr char kAnnotationRefName[] = "org.opencontainers.image.ref.name";

inline bool IsIndex(absl::string_view media_type) {
  return media_type == kOciIndex || media_type == kDockerManifestList;
}
inline bool IsManifest(absl::string_view media_type) {
  return media_type == kOciManifest || media_type == kDockerManifest;
}

// "busybox" -> "docker.io/library/busybox:latest"; "x/y:1" -> "docker.io/x/y:1";
// "reg.io/x" -> "reg.io/x:latest"; references with a digest keep it.
std::string NormalizeReference(absl::string_view name);
// The inverse for docker's RepoTags: "docker.io/library/busybox:latest" -> "busybox:latest".
std::string FamiliarReference(absl::string_view name);
// Whether the (normalised) reference names only a digest ("repo@sha256:...").
bool IsDigestOnlyReference(absl::string_view name);

}  // namespace berth::archive
