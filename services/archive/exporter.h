#pragma once

// Exporter: writes images of one namespace as an archive to a TarWriter (containerd
// images/archive/exporter.go, done in the daemon).
//
//   kOciLayout:     oci-layout, blobs/sha256/<hex> for every blob reachable from each image
//                   (index children missing from the store are left out, as a single-platform
//                   pull leaves them), index.json with one entry per name, annotated with
//                   io.containerd.image.name (full name) and org.opencontainers.image.ref.name
//                   (the tag).
//   kDockerArchive: the `docker save` layout: <hex>.json configs, <hex>/layer.tar layers (blobs
//                   as stored, compressed or not), manifest.json (familiar RepoTags) and
//                   repositories. An index is resolved to the manifest of the host platform.
//
// Blobs are streamed from the content store; only manifests and configs are read whole.
// Errors: NotFound for an unknown image or a missing blob of a chosen manifest.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "services/archive/importer.h"
#include "services/archive/tar_io.h"

namespace berth::archive {

enum class ArchiveFormat { kDockerArchive, kOciLayout };

class Exporter {
 public:
  Exporter(Stores stores, std::string ns) : stores_(stores), ns_(std::move(ns)) {}

  absl::Status Export(const std::vector<std::string>& names, ArchiveFormat format,
                      TarWriter& tar);

 private:
  absl::Status CollectBlobs(const Descriptor& desc, int depth, std::vector<Descriptor>& out);
  absl::StatusOr<Descriptor> HostManifest(const Descriptor& desc, int depth);
  absl::Status WriteBlob(TarWriter& tar, const std::string& path, const std::string& digest);
  absl::Status ExportOci(const std::vector<metadata::Image>& images, TarWriter& tar);
  absl::Status ExportDocker(const std::vector<metadata::Image>& images, TarWriter& tar);
  absl::StatusOr<std::string> ReadSmall(const std::string& digest);

  Stores stores_;
  const std::string ns_;
};

}  // namespace berth::archive
