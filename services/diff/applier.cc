#include "services/diff/applier.h"

#include <fcntl.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"
#include "services/diff/apply_tar.h"
#include "snapshotter/mount_util.h"

namespace berth::diff {
namespace {

bool HasOption(const snapshotter::Mount& mount, absl::string_view option) {
  return std::find(mount.options.begin(), mount.options.end(), option) != mount.options.end();
}

std::string UpperDir(const snapshotter::Mount& mount) {
  for (const std::string& option : mount.options) {
    if (absl::StartsWith(option, "upperdir=")) return option.substr(strlen("upperdir="));
  }
  return "";
}

absl::StatusOr<AppliedLayer> ApplyInto(const std::string& dir, const ApplyOptions& options,
                                       Compression compression, const content::Digest& expected,
                                       ReadFn read, const ApplyConfig& config) {
  UniqueFd root(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return ErrnoError(errno, "open", dir);
  std::unique_ptr<LayerStream> stream =
      LayerStream::Start(std::move(read), compression, config.max_layer_bytes);
  if (absl::Status s = ApplyTar(*stream, root.get(), options); !s.ok()) {
    stream->Cancel();
    return s;
  }
  ASSIGN_OR_RETURN(StreamResult result, stream->Finish());
  if (!expected.empty() && result.compressed != expected) {
    return FailedPrecondition(absl::StrCat("apply layer: digest mismatch: expected ",
                                           expected.string(), ", got ",
                                           result.compressed.string()));
  }
  return AppliedLayer{result.uncompressed, result.uncompressed_size,
                      std::string(LayerMediaType(Compression::kNone))};
}

}  // namespace

absl::StatusOr<AppliedLayer> ApplyLayer(absl::Span<const snapshotter::Mount> mounts,
                                        absl::string_view media_type,
                                        const content::Digest& expected, ReadFn read,
                                        const ApplyConfig& config) {
  ASSIGN_OR_RETURN(Compression compression, CompressionOf(media_type));
  ApplyOptions options;
  options.allow_devices = config.allow_devices;
  options.max_bytes = config.max_layer_bytes;
  if (mounts.size() == 1 && mounts[0].type == "overlay" && !UpperDir(mounts[0]).empty()) {
    options.whiteouts = WhiteoutMode::kOverlay;
    options.userxattr = HasOption(mounts[0], "userxattr");
    return ApplyInto(UpperDir(mounts[0]), options, compression, expected, std::move(read),
                     config);
  }
  options.whiteouts = WhiteoutMode::kDelete;
  if (mounts.size() == 1 && mounts[0].target.empty() &&
      (mounts[0].type == "bind" || HasOption(mounts[0], "bind") ||
       HasOption(mounts[0], "rbind")) &&
      !HasOption(mounts[0], "ro")) {
    return ApplyInto(mounts[0].source, options, compression, expected, std::move(read), config);
  }
  absl::StatusOr<AppliedLayer> applied;
  RETURN_IF_ERROR(snapshotter::WithTempMount(
      mounts,
      [&](const std::string& root) -> absl::Status {
        applied = ApplyInto(root, options, compression, expected, std::move(read), config);
        return applied.status();
      },
      config.temp_mount_dir));
  return applied;
}

}  // namespace berth::diff
