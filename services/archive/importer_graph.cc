// Importer, second half: from the stored files to image targets (OCI layout or
// docker-archive), checking the graph and labelling it for garbage collection.

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "services/archive/importer.h"
#include "services/archive/oci.h"

namespace berth::archive {
namespace {

using json = nlohmann::json;

constexpr int kMaxDepth = 8;

absl::StatusOr<json> Parse(absl::string_view text, absl::string_view what) {
  json parsed = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return InvalidArgument(absl::StrCat("import: ", what, " is not JSON"));
  return parsed;
}

std::string Str(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) return "";
  return object[key].get<std::string>();
}

absl::StatusOr<Descriptor> ToDescriptor(const json& object, absl::string_view what) {
  Descriptor desc;
  desc.set_media_type(Str(object, "mediaType"));
  desc.set_digest(Str(object, "digest"));
  if (object.is_object() && object.contains("size") && object["size"].is_number_integer()) {
    desc.set_size(object["size"].get<int64_t>());
  }
  if (!content::Digest::Validate(desc.digest()).ok()) {
    return InvalidArgument(absl::StrCat("import: ", what, ": bad digest \"", desc.digest(), "\""));
  }
  if (object.contains("annotations") && object["annotations"].is_object()) {
    for (const auto& [key, value] : object["annotations"].items()) {
      if (value.is_string()) (*desc.mutable_annotations())[key] = value.get<std::string>();
    }
  }
  return desc;
}

json DescriptorJson(absl::string_view media_type, absl::string_view digest, int64_t size) {
  json out = json::object();
  out["mediaType"] = std::string(media_type);
  out["digest"] = std::string(digest);
  out["size"] = size;
  return out;
}

// The image name an index entry carries, or "" (a bare tag names nothing).
std::string NameOf(const Descriptor& desc) {
  auto it = desc.annotations().find(kAnnotationImageName);
  if (it != desc.annotations().end() && !it->second.empty()) return it->second;
  it = desc.annotations().find(kAnnotationRefName);
  if (it == desc.annotations().end()) return "";
  const std::string& ref = it->second;
  if (ref.find('/') == std::string::npos && ref.find('@') == std::string::npos) return "";
  return NormalizeReference(ref);
}

}  // namespace

absl::StatusOr<std::vector<std::pair<std::string, Descriptor>>> Importer::FromOciLayout() {
  if (auto it = small_.find("oci-layout"); it != small_.end()) {
    ASSIGN_OR_RETURN(json layout, Parse(it->second, "oci-layout"));
    if (Str(layout, "imageLayoutVersion").empty()) {
      return InvalidArgument("import: oci-layout has no imageLayoutVersion");
    }
  }
  ASSIGN_OR_RETURN(json index, Parse(small_["index.json"], "index.json"));
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array()) {
    return InvalidArgument("import: index.json has no manifests");
  }
  std::vector<std::pair<std::string, Descriptor>> out;
  for (const json& entry : index["manifests"]) {
    ASSIGN_OR_RETURN(Descriptor desc, ToDescriptor(entry, "index.json"));
    RETURN_IF_ERROR(Walk(desc, 0));
    std::string name = NameOf(desc);
    if (!name.empty()) out.emplace_back(name, desc);
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, Descriptor>>> Importer::FromDockerArchive() {
  ASSIGN_OR_RETURN(json manifests, Parse(small_["manifest.json"], "manifest.json"));
  if (!manifests.is_array()) return InvalidArgument("import: manifest.json is not a list");
  std::vector<std::pair<std::string, Descriptor>> out;
  for (const json& entry : manifests) {
    ASSIGN_OR_RETURN(Blob config, ResolvePath(Str(entry, "Config")));
    json manifest = json::object();
    manifest["schemaVersion"] = 2;
    manifest["mediaType"] = kDockerManifest;
    manifest["config"] = DescriptorJson(kDockerConfig, config.digest, config.size);
    manifest["layers"] = json::array();
    content::Labels labels{{"containerd.io/gc.ref.content.config", config.digest}};
    if (!entry.contains("Layers") || !entry["Layers"].is_array()) {
      return InvalidArgument("import: manifest.json entry without Layers");
    }
    for (const json& layer_path : entry["Layers"]) {
      if (!layer_path.is_string()) return InvalidArgument("import: bad layer path");
      ASSIGN_OR_RETURN(Blob layer, ResolvePath(layer_path.get<std::string>()));
      ASSIGN_OR_RETURN(auto reader, stores_.content.OpenReader(ns_, layer.digest));
      ASSIGN_OR_RETURN(std::string magic, reader->ReadAt(0, 2));
      bool gzip = magic == "\x1f\x8b";
      labels[absl::StrCat("containerd.io/gc.ref.content.l.", manifest["layers"].size())] =
          layer.digest;
      manifest["layers"].push_back(
          DescriptorJson(gzip ? kDockerLayerGzip : kDockerLayer, layer.digest, layer.size));
    }
    ASSIGN_OR_RETURN(Blob written, WriteBytes(manifest.dump(), labels));
    Descriptor desc;
    desc.set_media_type(kDockerManifest);
    desc.set_digest(written.digest);
    desc.set_size(written.size);
    if (entry.contains("RepoTags") && entry["RepoTags"].is_array()) {
      for (const json& tag : entry["RepoTags"]) {
        if (tag.is_string()) out.emplace_back(NormalizeReference(tag.get<std::string>()), desc);
      }
    }
  }
  return out;
}

absl::Status Importer::Walk(const Descriptor& desc, int depth) {
  if (depth > kMaxDepth) return InvalidArgument("import: image index nested too deeply");
  absl::StatusOr<metadata::ContentInfo> info = stores_.content.Info(ns_, desc.digest());
  if (!info.ok()) return Annotate(info.status(), "import: blob missing from archive");
  if (desc.size() != 0 && desc.size() != info->size()) {
    return FailedPrecondition(absl::StrCat("import: ", desc.digest(), " has size ", info->size(),
                                           ", descriptor says ", desc.size()));
  }
  if (!IsIndex(desc.media_type()) && !IsManifest(desc.media_type())) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string text, ReadSmallBlob(desc.digest()));
  ASSIGN_OR_RETURN(json parsed, Parse(text, desc.digest()));
  content::Labels labels;
  if (IsIndex(desc.media_type())) {
    if (!parsed.contains("manifests") || !parsed["manifests"].is_array()) {
      return InvalidArgument(absl::StrCat("import: index ", desc.digest(), " has no manifests"));
    }
    int i = 0;
    for (const json& child : parsed["manifests"]) {
      ASSIGN_OR_RETURN(Descriptor child_desc, ToDescriptor(child, desc.digest()));
      labels[absl::StrCat("containerd.io/gc.ref.content.m.", i++)] = child_desc.digest();
      // Children of other platforms may be left out of an archive, as by containerd's export.
      if (!stores_.content.Info(ns_, child_desc.digest()).ok()) continue;
      RETURN_IF_ERROR(Walk(child_desc, depth + 1));
    }
  } else {
    if (!parsed.contains("config") || !parsed.contains("layers") || !parsed["layers"].is_array()) {
      return InvalidArgument(absl::StrCat("import: manifest ", desc.digest(), " is malformed"));
    }
    ASSIGN_OR_RETURN(Descriptor config, ToDescriptor(parsed["config"], desc.digest()));
    RETURN_IF_ERROR(Walk(config, depth + 1));
    labels["containerd.io/gc.ref.content.config"] = config.digest();
    int i = 0;
    for (const json& layer : parsed["layers"]) {
      ASSIGN_OR_RETURN(Descriptor layer_desc, ToDescriptor(layer, desc.digest()));
      RETURN_IF_ERROR(Walk(layer_desc, depth + 1));
      labels[absl::StrCat("containerd.io/gc.ref.content.l.", i++)] = layer_desc.digest();
    }
  }
  return SetLabels(desc.digest(), labels);
}

}  // namespace berth::archive
