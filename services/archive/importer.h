#pragma once

// Importer: turns an image archive read from a TarReader into content and images in one
// namespace (containerd images/archive/importer.go, done in the daemon).
//
// Accepted archives:
//   - OCI image layout: oci-layout, index.json, blobs/sha256/<hex> (each blob must hash to its
//     name). Image names come from the index entries' annotations io.containerd.image.name,
//     else org.opencontainers.image.ref.name when it is a full reference (a bare tag names
//     nothing).
//   - docker-archive (`docker save`): manifest.json, repositories, layer tars, configs. Each
//     manifest.json entry becomes a Docker schema2 manifest written to the content store
//     (layers gzip or plain, by their magic); RepoTags name the images (normalised,
//     "busybox:1" -> "docker.io/library/busybox:1").
//
// Every blob is streamed into the content store as its tar entry is read (nothing is
// buffered but small JSON files), under a temporary lease. Then the image graph is checked
// (every manifest's config and layers present, sizes matching), the gc.ref.content labels
// containerd sets on pull are added (index: m.<i>; manifest: config, l.<i>), and only then are
// the images created (or their targets updated). The lease is deleted at the end, success or
// not, so a failed import leaves nothing visible and its blobs to the next collection.
//
// Errors: InvalidArgument for a malformed/truncated archive, an absolute or ".." path, a
// symlink leaving the archive, bad JSON; NotFound for a manifest naming a missing blob;
// FailedPrecondition for a blob whose bytes do not match its name or size.

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/types/descriptor.pb.h"
#include "services/archive/tar_io.h"
#include "services/metadata/content.h"
#include "services/metadata/images.h"
#include "services/metadata/leases.h"

namespace berth::archive {

using Descriptor = containerd::types::Descriptor;

struct Stores {
  metadata::ContentMetadata& content;
  metadata::ImageStore& images;
  metadata::LeaseStore& leases;
};

class Importer {
 public:
  Importer(Stores stores, std::string ns) : stores_(stores), ns_(std::move(ns)) {}

  // Reads the whole archive and returns the images created or updated.
  absl::StatusOr<std::vector<metadata::Image>> Import(TarReader& tar);

 private:
  struct Blob {
    std::string digest;
    int64_t size = 0;
  };
  absl::Status ReadEntries(TarReader& tar);
  absl::Status StoreEntry(TarReader& tar, const TarEntry& entry);
  absl::StatusOr<Blob> WriteStream(TarReader& tar, const std::string& path,
                                   const std::string& expected);
  absl::StatusOr<Blob> WriteBytes(absl::string_view data, const content::Labels& labels);
  absl::StatusOr<std::vector<std::pair<std::string, Descriptor>>> FromOciLayout();
  absl::StatusOr<std::vector<std::pair<std::string, Descriptor>>> FromDockerArchive();
  absl::StatusOr<Blob> ResolvePath(const std::string& path) const;
  // Checks the graph under `desc` and labels it; `depth` bounds nested indexes.
  absl::Status Walk(const Descriptor& desc, int depth);
  absl::StatusOr<std::string> ReadSmallBlob(const std::string& digest);
  absl::Status SetLabels(const std::string& digest, const content::Labels& labels);

  Stores stores_;
  const std::string ns_;
  std::string lease_;
  std::map<std::string, Blob> files_;         // archive path -> stored blob
  std::map<std::string, std::string> links_;  // archive path -> target path
  std::map<std::string, std::string> small_;  // index.json, manifest.json, oci-layout
};

// Whether an archive path is acceptable: relative, no "..", no NUL. Returns the cleaned path.
absl::StatusOr<std::string> CleanArchivePath(absl::string_view path);

}  // namespace berth::archive
