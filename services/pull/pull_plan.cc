#include "services/pull/pull_plan.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "content/digest.h"
#include "nlohmann/json.hpp"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "services/archive/oci.h"

namespace berth::pull {
namespace {

using nlohmann::json;

absl::StatusOr<distribution::Descriptor> DescriptorFrom(const json& j, absl::string_view where) {
  if (!j.is_object() || !j.contains("digest") || !j["digest"].is_string() ||
      !j.contains("size") || !j["size"].is_number_integer()) {
    return InvalidArgument(absl::StrCat("malformed descriptor in ", where));
  }
  distribution::Descriptor desc{j.value("mediaType", ""), j["digest"].get<std::string>(),
                                j["size"].get<int64_t>()};
  if (!content::Digest::Parse(desc.digest).ok() || desc.size < 0) {
    return InvalidArgument(absl::StrCat("malformed descriptor in ", where));
  }
  return desc;
}

std::string PlatformText(const json& p) {
  if (!p.is_object()) return "unknown";
  std::string out = absl::StrCat(p.value("os", "?"), "/", p.value("architecture", "?"));
  if (!p.value("variant", "").empty()) absl::StrAppend(&out, "/", p.value("variant", ""));
  return out;
}

// Collects a small blob (an image config) in memory.
class StringSink : public distribution::BlobSink {
 public:
  int64_t Offset() const override { return static_cast<int64_t>(data_.size()); }
  absl::Status Write(absl::string_view data) override {
    data_.append(data.data(), data.size());
    return absl::OkStatus();
  }
  absl::Status Reset() override {
    data_.clear();
    return absl::OkStatus();
  }
  const std::string& data() const { return data_; }

 private:
  std::string data_;
};

// A manifest without an index says its platform only in its config (containerd checks it too).
absl::Status CheckConfigPlatform(distribution::RegistryClient& client, const ManifestPlan& m,
                                 const std::vector<Platform>& platforms, const std::string& what) {
  constexpr int64_t kConfigLimit = 8 << 20;
  if (m.config.size > kConfigLimit) return absl::OkStatus();
  StringSink sink;
  RETURN_IF_ERROR(client.FetchBlob(m.config, sink));
  if (content::Digest::FromBytes(sink.data()).string() != m.config.digest) {
    return FailedPrecondition(absl::StrCat("config ", m.config.digest, " of ", what,
                                           ": content does not match its digest"));
  }
  json config = json::parse(sink.data(), nullptr, false);
  if (!config.is_object() || !config.contains("architecture")) return absl::OkStatus();
  Platform have = PlatformFromJson(config);
  for (const Platform& want : platforms) {
    if (PlatformMatches(want, have)) return absl::OkStatus();
  }
  std::vector<std::string> wanted;
  for (const auto& p : platforms) wanted.push_back(FormatPlatform(p));
  return absl::NotFoundError(absl::StrCat("platform ", absl::StrJoin(wanted, ", "),
                                          " not found in ", what, " (it has ",
                                          FormatPlatform(have), ")"));
}

}  // namespace

Platform PlatformFromJson(const nlohmann::json& platform) {
  if (!platform.is_object()) return {};
  return Platform{platform.value("os", ""), platform.value("architecture", ""),
                  platform.value("variant", "")};
}

std::vector<distribution::Descriptor> PullPlan::Blobs() const {
  std::vector<distribution::Descriptor> out;
  std::set<std::string> seen;
  for (const ManifestPlan& m : manifests) {
    if (seen.insert(m.config.digest).second) out.push_back(m.config);
    for (const auto& layer : m.layers) {
      if (seen.insert(layer.digest).second) out.push_back(layer);
    }
  }
  return out;
}

absl::Status ParseManifest(const std::string& bytes, ManifestPlan& plan) {
  json j = json::parse(bytes, nullptr, false);
  std::string where = absl::StrCat("manifest ", plan.desc.digest);
  if (!j.is_object() || !j.contains("config") || !j.contains("layers") || !j["layers"].is_array()) {
    return InvalidArgument(absl::StrCat(where, " is not an image manifest"));
  }
  ASSIGN_OR_RETURN(plan.config, DescriptorFrom(j["config"], where));
  for (const json& layer : j["layers"]) {
    ASSIGN_OR_RETURN(distribution::Descriptor desc, DescriptorFrom(layer, where));
    plan.layers.push_back(std::move(desc));
  }
  return absl::OkStatus();
}

absl::StatusOr<PullPlan> PlanPull(distribution::RegistryClient& client,
                                  const distribution::Descriptor& top,
                                  const std::vector<Platform>& platforms,
                                  bool all_platforms, const std::string& what) {
  PullPlan plan;
  plan.top = top;
  ASSIGN_OR_RETURN(std::string top_bytes, client.FetchManifest(top));
  if (archive::IsManifest(top.media_type)) {
    ManifestPlan m{top, std::move(top_bytes)};
    RETURN_IF_ERROR(ParseManifest(m.bytes, m));
    if (!all_platforms) RETURN_IF_ERROR(CheckConfigPlatform(client, m, platforms, what));
    plan.manifests.push_back(std::move(m));
    return plan;
  }
  plan.top_bytes = std::move(top_bytes);
  json index = json::parse(plan.top_bytes, nullptr, false);
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array()) {
    return InvalidArgument(absl::StrCat("index ", top.digest, " of ", what, " is malformed"));
  }
  std::vector<std::string> available;
  const json& entries = index["manifests"];
  for (size_t i = 0; i < entries.size(); ++i) {
    const json& entry = entries[i];
    json platform = entry.is_object() ? entry.value("platform", json()) : json();
    available.push_back(PlatformText(platform));
    bool wanted = all_platforms;
    for (const auto& p : platforms) {
      wanted = wanted || (platform.is_object() && PlatformMatches(p, PlatformFromJson(platform)));
    }
    if (!wanted) continue;
    ASSIGN_OR_RETURN(distribution::Descriptor desc, DescriptorFrom(entry, "index"));
    if (!archive::IsManifest(desc.media_type)) continue;  // nested indexes, attestations
    ManifestPlan m{desc};
    m.index_position = static_cast<int>(i);
    ASSIGN_OR_RETURN(m.bytes, client.FetchManifest(desc));
    RETURN_IF_ERROR(ParseManifest(m.bytes, m));
    plan.manifests.push_back(std::move(m));
    if (!all_platforms && platforms.size() == 1) break;  // containerd takes the first match
  }
  if (plan.manifests.empty()) {
    std::vector<std::string> wanted;
    for (const auto& p : platforms) wanted.push_back(FormatPlatform(p));
    return absl::NotFoundError(absl::StrCat(
        "platform ", absl::StrJoin(wanted, ", "), " not found in ", what, " (it has ",
        available.empty() ? "no manifests" : absl::StrJoin(available, ", "), ")"));
  }
  return plan;
}

}  // namespace berth::pull
