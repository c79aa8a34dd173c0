#include "services/diff/applier.h"

#include <fcntl.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

std::string OptionValue(const snapshotter::Mount& mount, absl::string_view key) {
  for (const std::string& option : mount.options) {
    if (absl::StartsWith(option, key) && option.size() > key.size() && option[key.size()] == '=') {
      return option.substr(key.size() + 1);
    }
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

ApplyOptions OptionsFor(const ApplyConfig& config) {
  ApplyOptions options;
  options.allow_devices = config.allow_devices;
  options.max_bytes = config.max_layer_bytes;
  return options;
}

}  // namespace

std::optional<LayerDir> UnmountedLayerDir(absl::Span<const snapshotter::Mount> mounts) {
  if (mounts.size() != 1) return std::nullopt;
  const snapshotter::Mount& mount = mounts[0];
  if (mount.type == "overlay" && !OptionValue(mount, "upperdir").empty()) {
    std::string lowers = OptionValue(mount, "lowerdir");
    return LayerDir{OptionValue(mount, "upperdir"), /*overlay_upper=*/true,
                    HasOption(mount, "userxattr"),
                    absl::StrSplit(lowers, ':', absl::SkipEmpty())};
  }
  bool bind = mount.type == "bind" || HasOption(mount, "bind") || HasOption(mount, "rbind");
  if (bind && mount.target.empty() && !HasOption(mount, "ro")) return LayerDir{mount.source};
  return std::nullopt;
}

absl::StatusOr<AppliedLayer> ApplyLayerToDir(const LayerDir& dir, absl::string_view media_type,
                                             const content::Digest& expected, ReadFn read,
                                             const ApplyConfig& config) {
  ASSIGN_OR_RETURN(Compression compression, CompressionOf(media_type));
  ApplyOptions options = OptionsFor(config);
  options.whiteouts = dir.overlay_upper ? WhiteoutMode::kOverlay : WhiteoutMode::kDelete;
  options.userxattr = dir.overlay_upper && dir.userxattr;
  std::vector<std::string> implied;
  if (dir.overlay_upper) {
    options.lowers = dir.lowers;
    options.implied_dirs = &implied;
  }
  ASSIGN_OR_RETURN(AppliedLayer applied, ApplyInto(dir.path, options, compression, expected,
                                                   std::move(read), config));
  applied.implied_dirs = std::move(implied);
  return applied;
}

absl::StatusOr<AppliedLayer> ApplyLayer(absl::Span<const snapshotter::Mount> mounts,
                                        absl::string_view media_type,
                                        const content::Digest& expected, ReadFn read,
                                        const ApplyConfig& config) {
  if (std::optional<LayerDir> dir = UnmountedLayerDir(mounts)) {
    return ApplyLayerToDir(*dir, media_type, expected, std::move(read), config);
  }
  ASSIGN_OR_RETURN(Compression compression, CompressionOf(media_type));
  ApplyOptions options = OptionsFor(config);
  options.whiteouts = WhiteoutMode::kDelete;
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
