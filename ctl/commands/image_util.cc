#include "ctl/commands/image_util.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "containerd/services/content/v1/content.pb.h"
#include "ctl/methods.h"
#include "plugins/base/platform.h"

namespace berth::ctl {
namespace {

namespace content_api = containerd::services::content::v1;
using nlohmann::json;

bool IsIndex(const std::string& media_type) {
  return media_type == "application/vnd.oci.image.index.v1+json" ||
         media_type == "application/vnd.docker.distribution.manifest.list.v2+json";
}

std::string Str(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) return "";
  return object[key].get<std::string>();
}

// The host manifest's descriptor under `target`, and the index size on the way.
absl::StatusOr<std::pair<json, int64_t>> Resolve(Client& client, const std::string& media_type,
                                                 const std::string& digest, int depth) {
  absl::StatusOr<std::string> text = ReadBlob(client, digest);
  if (!text.ok()) return text.status();
  json parsed = json::parse(*text, nullptr, false);
  if (!parsed.is_object()) return absl::DataLossError(absl::StrCat(digest, " is not JSON"));
  if (!IsIndex(media_type) || depth > 4) return std::make_pair(parsed, int64_t{0});
  if (!parsed.contains("manifests") || !parsed["manifests"].is_array()) {
    return absl::NotFoundError("index without manifests: not found");
  }
  for (const json& child : parsed["manifests"]) {
    json platform = child.contains("platform") ? child["platform"] : json::object();
    if (!Str(platform, "os").empty() &&
        (Str(platform, "os") != "linux" ||
         Str(platform, "architecture") != berth::HostArchitecture())) {
      continue;
    }
    auto inner = Resolve(client, Str(child, "mediaType"), Str(child, "digest"), depth + 1);
    if (!inner.ok()) continue;
    int64_t size = child.contains("size") && child["size"].is_number_integer()
                       ? child["size"].get<int64_t>()
                       : 0;
    return std::make_pair(inner->first, inner->second + size);
  }
  return absl::NotFoundError("no manifest for this platform: not found");
}

}  // namespace

std::string NormalizeReference(const std::string& name) {
  std::string out = name;
  size_t slash = out.find('/');
  std::string first = slash == std::string::npos ? "" : out.substr(0, slash);
  bool has_domain = !first.empty() && (absl::StrContains(first, ".") ||
                                       absl::StrContains(first, ":") || first == "localhost");
  if (!has_domain) {
    out = slash == std::string::npos ? "docker.io/library/" + out : "docker.io/" + out;
  }
  if (absl::StrContains(out, "@")) return out;
  size_t last = out.rfind('/');
  if (out.find(':', last == std::string::npos ? 0 : last) == std::string::npos) out += ":latest";
  return out;
}

bool IsDigestOnlyReference(const std::string& name) {
  size_t at = name.find('@');
  if (at == std::string::npos) return false;
  std::string repo = name.substr(0, at);
  size_t last = repo.rfind('/');
  return repo.find(':', last == std::string::npos ? 0 : last) == std::string::npos;
}

std::pair<std::string, std::string> SplitReference(const std::string& name) {
  std::string repo = name;
  std::string tag = "<none>";
  size_t at = repo.find('@');
  if (at != std::string::npos) repo = repo.substr(0, at);
  size_t last = repo.rfind('/');
  size_t colon = repo.find(':', last == std::string::npos ? 0 : last);
  if (colon != std::string::npos) {
    tag = repo.substr(colon + 1);
    repo = repo.substr(0, colon);
  }
  absl::string_view view(repo);
  if (absl::ConsumePrefix(&view, "docker.io/")) absl::ConsumePrefix(&view, "library/");
  return {std::string(view), tag};
}

std::string HumanSize(int64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1000 && unit < 4) {
    value /= 1000;
    ++unit;
  }
  return unit == 0 ? absl::StrCat(bytes, "B") : absl::StrFormat("%.3g%s", value, units[unit]);
}

std::string HumanAge(const google::protobuf::Timestamp& stamp) {
  absl::Duration age = absl::Now() - absl::FromUnixSeconds(stamp.seconds());
  auto ago = [](int64_t n, const char* unit) {
    return absl::StrCat(n, " ", unit, n == 1 ? "" : "s", " ago");
  };
  if (age < absl::Minutes(1)) return "Less than a minute ago";
  if (age < absl::Hours(1)) return ago(age / absl::Minutes(1), "minute");
  if (age < absl::Hours(48)) return ago(age / absl::Hours(1), "hour");
  return ago(age / absl::Hours(24), "day");
}

std::string FormatTimestamp(const google::protobuf::Timestamp& stamp) {
  absl::Time time = absl::FromUnixSeconds(stamp.seconds()) + absl::Nanoseconds(stamp.nanos());
  return absl::FormatTime(absl::RFC3339_full, time, absl::UTCTimeZone());
}

absl::StatusOr<std::string> ReadBlob(Client& client, const std::string& digest) {
  content_api::ReadContentRequest request;
  request.set_digest(digest);
  auto reader = client.Stream(methods::kContentRead, client.Options());
  reader->Write(request, /*last=*/true);  // a failure shows in Finish
  std::string out;
  content_api::ReadContentResponse chunk;
  while (reader->Read(&chunk)) out += chunk.data();
  absl::Status status = client.Explain(reader->Finish());
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<json> HostManifest(Client& client, const containerd::types::Descriptor& target) {
  auto resolved = Resolve(client, target.media_type(), target.digest(), 0);
  if (!resolved.ok()) return resolved.status();
  return resolved->first;
}

absl::StatusOr<int64_t> ImageSize(Client& client, const containerd::types::Descriptor& target) {
  auto resolved = Resolve(client, target.media_type(), target.digest(), 0);
  if (!resolved.ok()) return resolved.status();
  const json& manifest = resolved->first;
  // The index (target) size, the manifests on the way, the config and the layers.
  int64_t size = target.size() + resolved->second;
  if (manifest.contains("config") && manifest["config"].contains("size")) {
    size += manifest["config"]["size"].get<int64_t>();
  }
  if (manifest.contains("layers") && manifest["layers"].is_array()) {
    for (const json& layer : manifest["layers"]) {
      if (layer.contains("size") && layer["size"].is_number_integer()) {
        size += layer["size"].get<int64_t>();
      }
    }
  }
  return size;
}

}  // namespace berth::ctl
