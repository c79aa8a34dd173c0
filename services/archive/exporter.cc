#include "services/archive/exporter.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "plugins/base/platform.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "services/archive/oci.h"

namespace berth::archive {
namespace {

using json = nlohmann::json;

constexpr size_t kChunk = 1 << 20;

absl::StatusOr<json> Parse(absl::string_view text, absl::string_view what) {
  json parsed = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return InvalidArgument(absl::StrCat("export: ", what, " is not a JSON object"));
  }
  return parsed;
}

std::string Str(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) return "";
  return object[key].get<std::string>();
}

Descriptor ToDescriptor(const json& object) {
  Descriptor desc;
  desc.set_media_type(Str(object, "mediaType"));
  desc.set_digest(Str(object, "digest"));
  if (object.contains("size") && object["size"].is_number_integer()) {
    desc.set_size(object["size"].get<int64_t>());
  }
  return desc;
}

std::string Hex(const std::string& digest) { return digest.substr(digest.find(':') + 1); }

std::string TagOf(const std::string& name) {
  size_t slash = name.rfind('/');
  size_t colon = name.find(':', slash == std::string::npos ? 0 : slash);
  if (name.find('@') != std::string::npos || colon == std::string::npos) return "";
  return name.substr(colon + 1);
}

}  // namespace

absl::StatusOr<std::string> Exporter::ReadSmall(const std::string& digest) {
  ASSIGN_OR_RETURN(auto reader, stores_.content.OpenReader(ns_, digest));
  if (reader->Size() > (16 << 20)) return InvalidArgument("export: manifest too large");
  return reader->ReadAt(0, static_cast<size_t>(reader->Size()));
}

absl::Status Exporter::CollectBlobs(const Descriptor& desc, int depth,
                                    std::vector<Descriptor>& out) {
  if (depth > 8) return InvalidArgument("export: image index nested too deeply");
  RETURN_IF_ERROR(stores_.content.Info(ns_, desc.digest()).status());
  out.push_back(desc);
  if (!IsIndex(desc.media_type()) && !IsManifest(desc.media_type())) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string text, ReadSmall(desc.digest()));
  ASSIGN_OR_RETURN(json parsed, Parse(text, desc.digest()));
  if (IsIndex(desc.media_type())) {
    if (!parsed.contains("manifests") || !parsed["manifests"].is_array()) return absl::OkStatus();
    for (const json& child : parsed["manifests"]) {
      Descriptor child_desc = ToDescriptor(child);
      if (!stores_.content.Info(ns_, child_desc.digest()).ok()) continue;
      RETURN_IF_ERROR(CollectBlobs(child_desc, depth + 1, out));
    }
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(CollectBlobs(ToDescriptor(parsed["config"]), depth + 1, out));
  if (parsed.contains("layers") && parsed["layers"].is_array()) {
    for (const json& layer : parsed["layers"]) {
      RETURN_IF_ERROR(CollectBlobs(ToDescriptor(layer), depth + 1, out));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Descriptor> Exporter::HostManifest(const Descriptor& desc, int depth) {
  if (IsManifest(desc.media_type())) return desc;
  if (!IsIndex(desc.media_type()) || depth > 8) {
    return InvalidArgument(absl::StrCat("export: ", desc.digest(), " is not an image"));
  }
  ASSIGN_OR_RETURN(std::string text, ReadSmall(desc.digest()));
  ASSIGN_OR_RETURN(json parsed, Parse(text, desc.digest()));
  std::string arch = berth::HostArchitecture();
  if (parsed.contains("manifests") && parsed["manifests"].is_array()) {
    for (const json& child : parsed["manifests"]) {
      const json platform = child.contains("platform") ? child["platform"] : json::object();
      bool other = !Str(platform, "os").empty() &&
                   (Str(platform, "os") != "linux" || Str(platform, "architecture") != arch);
      Descriptor child_desc = ToDescriptor(child);
      if (other || !stores_.content.Info(ns_, child_desc.digest()).ok()) continue;
      return HostManifest(child_desc, depth + 1);
    }
  }
  return NotFound(absl::StrCat("export: manifest for linux/", arch, " in ", desc.digest()));
}

absl::Status Exporter::WriteBlob(TarWriter& tar, const std::string& path,
                                 const std::string& digest) {
  ASSIGN_OR_RETURN(auto reader, stores_.content.OpenReader(ns_, digest));
  RETURN_IF_ERROR(tar.AddFile(path, reader->Size()));
  std::string buffer(kChunk, '\0');
  for (int64_t offset = 0; offset < reader->Size();) {
    ASSIGN_OR_RETURN(size_t n, reader->ReadAt(offset, absl::MakeSpan(buffer)));
    if (n == 0) return absl::DataLossError(absl::StrCat("export: blob ", digest, " is short"));
    RETURN_IF_ERROR(tar.Write(absl::string_view(buffer.data(), n)));
    offset += static_cast<int64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status Exporter::Export(const std::vector<std::string>& names, ArchiveFormat format,
                              TarWriter& tar) {
  if (names.empty()) return InvalidArgument("export: no image names given");
  std::vector<metadata::Image> images;
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(metadata::Image image, stores_.images.Get(ns_, name));
    images.push_back(std::move(image));
  }
  RETURN_IF_ERROR(format == ArchiveFormat::kOciLayout ? ExportOci(images, tar)
                                                      : ExportDocker(images, tar));
  return tar.Close();
}

absl::Status Exporter::ExportOci(const std::vector<metadata::Image>& images, TarWriter& tar) {
  std::vector<Descriptor> blobs;
  for (const auto& image : images) RETURN_IF_ERROR(CollectBlobs(image.target(), 0, blobs));
  RETURN_IF_ERROR(tar.AddFileData("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  RETURN_IF_ERROR(tar.AddDirectory("blobs"));
  RETURN_IF_ERROR(tar.AddDirectory("blobs/sha256"));
  std::set<std::string> written;
  for (const Descriptor& blob : blobs) {
    if (!written.insert(blob.digest()).second) continue;
    RETURN_IF_ERROR(WriteBlob(tar, "blobs/sha256/" + Hex(blob.digest()), blob.digest()));
  }
  json index = {{"schemaVersion", 2}, {"mediaType", kOciIndex}, {"manifests", json::array()}};
  for (const auto& image : images) {
    json entry = {{"mediaType", image.target().media_type()},
                  {"digest", image.target().digest()},
                  {"size", image.target().size()}};
    entry["annotations"] = {{kAnnotationImageName, image.name()}};
    if (std::string tag = TagOf(image.name()); !tag.empty()) {
      entry["annotations"][kAnnotationRefName] = tag;
    }
    index["manifests"].push_back(entry);
  }
  return tar.AddFileData("index.json", index.dump());
}

absl::Status Exporter::ExportDocker(const std::vector<metadata::Image>& images, TarWriter& tar) {
  json manifests = json::array();
  json repositories = json::object();
  std::set<std::string> written;
  for (const auto& image : images) {
    ASSIGN_OR_RETURN(Descriptor desc, HostManifest(image.target(), 0));
    ASSIGN_OR_RETURN(std::string text, ReadSmall(desc.digest()));
    ASSIGN_OR_RETURN(json manifest, Parse(text, desc.digest()));
    Descriptor config = ToDescriptor(manifest["config"]);
    std::string config_path = Hex(config.digest()) + ".json";
    if (written.insert(config_path).second) {
      RETURN_IF_ERROR(WriteBlob(tar, config_path, config.digest()));
    }
    json layers = json::array();
    std::string top;
    if (manifest.contains("layers") && manifest["layers"].is_array()) {
      for (const json& layer : manifest["layers"]) {
        Descriptor layer_desc = ToDescriptor(layer);
        top = Hex(layer_desc.digest());
        std::string path = top + "/layer.tar";
        if (written.insert(path).second) {
          RETURN_IF_ERROR(WriteBlob(tar, path, layer_desc.digest()));
        }
        layers.push_back(path);
      }
    }
    json entry = {{"Config", config_path}, {"RepoTags", json::array()}, {"Layers", layers}};
    if (!IsDigestOnlyReference(image.name())) {
      std::string familiar = FamiliarReference(image.name());
      entry["RepoTags"].push_back(familiar);
      size_t colon = familiar.rfind(':');
      if (colon != std::string::npos && !top.empty()) {
        repositories[familiar.substr(0, colon)][familiar.substr(colon + 1)] = top;
      }
    }
    manifests.push_back(entry);
  }
  RETURN_IF_ERROR(tar.AddFileData("manifest.json", manifests.dump()));
  return tar.AddFileData("repositories", repositories.dump());
}

}  // namespace berth::archive
