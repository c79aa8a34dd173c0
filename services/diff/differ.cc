#include "services/diff/differ.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "plugins/base/status_macros.h"
#include "services/diff/write_diff.h"
#include "snapshotter/proxy/convert.h"

namespace berth::services {
namespace {

namespace api = containerd::services::diff::v1;

constexpr char kUncompressedLabel[] = "containerd.io/uncompressed";

}  // namespace

absl::StatusOr<diff::ReadFn> Differ::OpenLayer(const std::string& ns,
                                              const containerd::types::Descriptor& desc,
                                              content::Digest& digest) {
  ASSIGN_OR_RETURN(digest, content::Digest::Parse(desc.digest()));
  ASSIGN_OR_RETURN(std::unique_ptr<content::ContentReader> reader,
                   content_.OpenReader(ns, desc.digest()));
  return [reader = std::shared_ptr<content::ContentReader>(std::move(reader)),
          offset = int64_t{0}](absl::Span<char> buf) mutable -> absl::StatusOr<size_t> {
    ASSIGN_OR_RETURN(size_t n, reader->ReadAt(offset, buf));
    offset += static_cast<int64_t>(n);
    return n;
  };
}

absl::StatusOr<diff::AppliedLayer> Differ::Apply(const std::string& ns,
                                               const containerd::types::Descriptor& desc,
                                               const std::vector<snapshotter::Mount>& mounts) {
  content::Digest digest;
  ASSIGN_OR_RETURN(diff::ReadFn read, OpenLayer(ns, desc, digest));
  return diff::ApplyLayer(mounts, desc.media_type(), digest, std::move(read), config_);
}

absl::StatusOr<diff::AppliedLayer> Differ::ApplyToDir(const std::string& ns,
                                                    const containerd::types::Descriptor& desc,
                                                    const diff::LayerDir& dir) {
  content::Digest digest;
  ASSIGN_OR_RETURN(diff::ReadFn read, OpenLayer(ns, desc, digest));
  return diff::ApplyLayerToDir(dir, desc.media_type(), digest, std::move(read), config_);
}

absl::StatusOr<containerd::types::Descriptor> Differ::Diff(const std::string& ns,
                                                         const std::optional<std::string>& lease,
                                                         const api::DiffRequest& request) {
  std::string media_type = request.media_type().empty()
                               ? std::string(diff::LayerMediaType(diff::Compression::kGzip))
                               : request.media_type();
  ASSIGN_OR_RETURN(diff::Compression compression, diff::CompressionOf(media_type));
  std::string ref = request.ref().empty()
                        ? absl::StrCat("diff-", absl::ToUnixNanos(absl::Now()))
                        : request.ref();
  ASSIGN_OR_RETURN(std::unique_ptr<metadata::NamespacedWriter> writer,
                   content_.OpenWriter(metadata::WriteContext{ns, lease}, ref, 0, ""));
  ASSIGN_OR_RETURN(diff::WrittenLayer layer,
                   diff::WriteLayer(snapshotter::MountsFromProto(request.left()),
                                    snapshotter::MountsFromProto(request.right()), compression,
                                    [&](absl::string_view data) { return writer->Write(data); },
                                    config_.temp_mount_dir));
  content::Labels labels(request.labels().begin(), request.labels().end());
  labels[kUncompressedLabel] = layer.uncompressed.string();
  absl::Status committed = writer->Commit(layer.size, layer.digest, labels);
  if (!committed.ok() && !absl::IsAlreadyExists(committed)) return committed;
  containerd::types::Descriptor desc;
  desc.set_media_type(media_type);
  desc.set_digest(layer.digest.string());
  desc.set_size(layer.size);
  return desc;
}


}  // namespace berth::services
