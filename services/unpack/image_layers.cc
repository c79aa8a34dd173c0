#include "services/unpack/image_layers.h"

#include "absl/strings/str_cat.h"
#include "content/digest.h"
#include "nlohmann/json.hpp"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"

namespace berth::unpack {
namespace {

using json = nlohmann::json;
using containerd::types::Descriptor;

constexpr int kMaxIndexDepth = 8;
constexpr int64_t kMaxJsonBlob = 16 << 20;

bool IsIndex(absl::string_view media_type) {
  return media_type == "application/vnd.oci.image.index.v1+json" ||
         media_type == "application/vnd.docker.distribution.manifest.list.v2+json";
}

std::string Str(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) return "";
  return object[key].get<std::string>();
}

absl::StatusOr<json> ReadJson(metadata::ContentMetadata& content, const std::string& ns,
                              const std::string& digest) {
  ASSIGN_OR_RETURN(auto reader, content.OpenReader(ns, digest));
  if (reader->Size() > kMaxJsonBlob) {
    return InvalidArgument(absl::StrCat("unpack: blob ", digest, " is too large for JSON"));
  }
  ASSIGN_OR_RETURN(std::string text, reader->ReadAt(0, static_cast<size_t>(reader->Size())));
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return InvalidArgument(absl::StrCat("unpack: blob ", digest, " is not a JSON object"));
  }
  return parsed;
}

absl::StatusOr<Descriptor> ToDescriptor(const json& object) {
  Descriptor desc;
  desc.set_media_type(Str(object, "mediaType"));
  desc.set_digest(Str(object, "digest"));
  if (object.contains("size") && object["size"].is_number_integer()) {
    desc.set_size(object["size"].get<int64_t>());
  }
  RETURN_IF_ERROR(content::Digest::Validate(desc.digest()));
  return desc;
}

Platform PlatformOf(const json& entry) {
  const json platform = entry.contains("platform") ? entry["platform"] : json::object();
  return Platform{Str(platform, "os"), Str(platform, "architecture"), Str(platform, "variant")};
}

// The manifest under `desc` for `platform` (entries without a platform match any).
absl::StatusOr<Descriptor> FindManifest(metadata::ContentMetadata& content,
                                        const std::string& ns, const Descriptor& desc,
                                        const Platform& platform, int depth) {
  if (!IsIndex(desc.media_type())) return desc;
  if (depth > kMaxIndexDepth) return InvalidArgument("unpack: image index nested too deeply");
  ASSIGN_OR_RETURN(json index, ReadJson(content, ns, desc.digest()));
  if (!index.contains("manifests") || !index["manifests"].is_array()) {
    return InvalidArgument(absl::StrCat("unpack: index ", desc.digest(), " has no manifests"));
  }
  for (const json& entry : index["manifests"]) {
    Platform have = PlatformOf(entry);
    if (!have.os.empty() && !PlatformMatches(platform, have)) continue;
    ASSIGN_OR_RETURN(Descriptor child, ToDescriptor(entry));
    absl::StatusOr<Descriptor> found = FindManifest(content, ns, child, platform, depth + 1);
    if (found.ok() || !absl::IsNotFound(found.status())) return found;
  }
  return NotFound(absl::StrCat("unpack: no manifest for platform ", FormatPlatform(platform),
                               " in ", desc.digest()));
}

}  // namespace

absl::StatusOr<ImageLayers> ResolveImageLayers(metadata::ContentMetadata& content,
                                               const std::string& ns, const Descriptor& target,
                                               const Platform& platform) {
  ImageLayers image;
  ASSIGN_OR_RETURN(image.manifest, FindManifest(content, ns, target, platform, 0));
  ASSIGN_OR_RETURN(json manifest, ReadJson(content, ns, image.manifest.digest()));
  if (!manifest.contains("config") || !manifest.contains("layers") ||
      !manifest["layers"].is_array()) {
    return InvalidArgument(
        absl::StrCat("unpack: manifest ", image.manifest.digest(), " lacks config or layers"));
  }
  ASSIGN_OR_RETURN(image.config, ToDescriptor(manifest["config"]));
  for (const json& layer : manifest["layers"]) {
    ASSIGN_OR_RETURN(image.layers.emplace_back(), ToDescriptor(layer));
  }
  ASSIGN_OR_RETURN(image.diff_ids, ReadDiffIds(content, ns, image.config.digest()));
  if (image.diff_ids.size() != image.layers.size()) {
    return InvalidArgument(absl::StrCat("unpack: config ", image.config.digest(), " lists ",
                                        image.diff_ids.size(), " diff ids for ",
                                        image.layers.size(), " layers"));
  }
  return image;
}

absl::StatusOr<std::vector<std::string>> ReadDiffIds(metadata::ContentMetadata& content,
                                                     const std::string& ns,
                                                     const std::string& config_digest) {
  ASSIGN_OR_RETURN(json config, ReadJson(content, ns, config_digest));
  const json rootfs = config.contains("rootfs") ? config["rootfs"] : json::object();
  std::vector<std::string> diff_ids;
  if (rootfs.contains("diff_ids") && rootfs["diff_ids"].is_array()) {
    for (const json& diff_id : rootfs["diff_ids"]) {
      if (diff_id.is_string()) diff_ids.push_back(diff_id.get<std::string>());
    }
  }
  for (const std::string& diff_id : diff_ids) RETURN_IF_ERROR(content::Digest::Validate(diff_id));
  return diff_ids;
}

std::vector<std::string> ChainIds(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> chain;
  for (const std::string& diff_id : diff_ids) {
    chain.push_back(chain.empty() ? diff_id
                                  : content::Digest::FromBytes(
                                        absl::StrCat(chain.back(), " ", diff_id))
                                        .string());
  }
  return chain;
}

}  // namespace berth::unpack
