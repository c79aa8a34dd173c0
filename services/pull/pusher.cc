#include "services/pull/pusher.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "services/archive/oci.h"
#include "services/distribution/reference.h"
#include "services/distribution/registry_client.h"
#include "services/pull/pull_plan.h"

namespace berth::pull {
namespace {

using distribution::Descriptor;
constexpr size_t kManifestLimit = 8 << 20;

class PushRun {
 public:
  PushRun(metadata::Metadata& db, std::string ns, distribution::RegistryClient& client,
          const distribution::Reference& ref, const PushOptions& options, const ReportFn& report)
      : db_(db), ns_(std::move(ns)), client_(client), ref_(ref), options_(options),
        report_(report) {}

  absl::Status PushTarget(const Descriptor& target) {
    if (archive::IsManifest(target.media_type)) {
      RETURN_IF_ERROR(PushManifestTree(target));
    } else if (archive::IsIndex(target.media_type)) {
      ASSIGN_OR_RETURN(std::string bytes, ReadSmall(target.digest));
      nlohmann::json index = nlohmann::json::parse(bytes, nullptr, false);
      if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array()) {
        return InvalidArgument(absl::StrCat("index ", target.digest, " is malformed"));
      }
      for (const auto& entry : index["manifests"]) {
        Descriptor child{entry.value("mediaType", ""), entry.value("digest", ""),
                         entry.value("size", int64_t{0})};
        if (!Wanted(entry.value("platform", nlohmann::json()))) continue;
        if (!db_.content()->Info(ns_, child.digest).ok()) {
          return FailedPrecondition(absl::StrCat(
              "manifest ", child.digest, " of the index is not stored locally (pull it with "
              "--all-platforms, or push with --platform)"));
        }
        RETURN_IF_ERROR(PushManifestTree(child));
      }
    } else {
      return FailedPrecondition(absl::StrCat("cannot push media type ", target.media_type));
    }
    ASSIGN_OR_RETURN(std::string bytes, ReadSmall(target.digest));
    progress_.set_message("pushing manifest");
    report_(progress_);
    return client_.PutManifest(ref_.tag.empty() ? ref_.digest : ref_.tag, target.media_type, bytes);
  }

  api::Progress& progress() { return progress_; }

 private:
  bool Wanted(const nlohmann::json& platform) const {
    if (options_.platforms.empty()) return true;
    for (const auto& p : options_.platforms) {
      if (PlatformMatches(p, PlatformFromJson(platform))) return true;
    }
    return false;
  }

  absl::StatusOr<std::string> ReadSmall(const std::string& digest) {
    ASSIGN_OR_RETURN(auto reader, db_.content()->OpenReader(ns_, digest));
    if (reader->Size() > static_cast<int64_t>(kManifestLimit)) {
      return InvalidArgument(absl::StrCat(digest, " is too large for a manifest"));
    }
    std::string bytes(static_cast<size_t>(reader->Size()), '\0');
    ASSIGN_OR_RETURN(size_t n, reader->ReadAt(0, absl::MakeSpan(bytes)));
    bytes.resize(n);
    return bytes;
  }

  absl::Status PushManifestTree(const Descriptor& desc) {
    ASSIGN_OR_RETURN(std::string bytes, ReadSmall(desc.digest));
    ManifestPlan plan{desc};
    RETURN_IF_ERROR(ParseManifest(bytes, plan));
    RETURN_IF_ERROR(PushBlob(plan.config));
    for (const Descriptor& layer : plan.layers) RETURN_IF_ERROR(PushBlob(layer));
    return client_.PutManifest(desc.digest, desc.media_type, bytes);
  }

  absl::Status PushBlob(const Descriptor& desc) {
    api::BlobProgress* blob = progress_.add_blobs();
    blob->set_digest(desc.digest);
    blob->set_media_type(desc.media_type);
    blob->set_total(desc.size);
    ASSIGN_OR_RETURN(bool exists, client_.BlobExists(desc.digest));
    if (exists) return Finish(*blob, "exists");
    ASSIGN_OR_RETURN(metadata::ContentInfo info, db_.content()->Info(ns_, desc.digest));
    auto source = info.labels().find(absl::StrCat("containerd.io/distribution.source.", ref_.domain));
    if (source != info.labels().end() && source->second != ref_.path) {
      ASSIGN_OR_RETURN(bool mounted, client_.MountBlob(desc.digest, source->second));
      if (mounted) return Finish(*blob, "mounted");
    }
    blob->set_state("uploading");
    report_(progress_);
    ASSIGN_OR_RETURN(auto reader, db_.content()->OpenReader(ns_, desc.digest));
    auto read = [&](int64_t offset, char* buffer, size_t size) -> absl::StatusOr<size_t> {
      return reader->ReadAt(offset, absl::MakeSpan(buffer, size));
    };
    RETURN_IF_ERROR(client_.UploadBlob(desc, read, options_.chunk_size));
    return Finish(*blob, "pushed");
  }

  absl::Status Finish(api::BlobProgress& blob, const char* state) {
    blob.set_offset(blob.total());
    blob.set_state(state);
    report_(progress_);
    return absl::OkStatus();
  }

  metadata::Metadata& db_;
  const std::string ns_;
  distribution::RegistryClient& client_;
  const distribution::Reference& ref_;
  const PushOptions& options_;
  const ReportFn& report_;
  api::Progress progress_;
};

}  // namespace

absl::StatusOr<containerd::types::Descriptor> Pusher::Push(const std::string& ns,
                                                           const PushOptions& options,
                                                           const ReportFn& report) {
  if (db_.content() == nullptr) return FailedPrecondition("no content store loaded");
  const std::string local = archive::NormalizeReference(options.image);
  ASSIGN_OR_RETURN(metadata::Image image, db_.images().Get(ns, local));
  const std::string name =
      options.reference.empty() ? local : archive::NormalizeReference(options.reference);
  ASSIGN_OR_RETURN(distribution::Reference ref, distribution::ParseNormalizedReference(name));
  if (!ref.digest.empty() && ref.tag.empty() && ref.digest != image.target().digest()) {
    return InvalidArgument(absl::StrCat("cannot push ", local, " (", image.target().digest(),
                                        ") to a different digest ", ref.digest));
  }
  ASSIGN_OR_RETURN(std::vector<distribution::Endpoint> endpoints,
                   registry_.Endpoints(ref.domain, options.plain_http));
  distribution::Authorizer auth(CredentialLookup(options.credentials, registry_, ref.domain));
  distribution::RegistryClient client({endpoints.back()}, ref.path, auth);
  PushRun run(db_, ns, client, ref, options, report);
  run.progress().set_name(name);
  *run.progress().mutable_target() = image.target();
  Descriptor target{image.target().media_type(), image.target().digest(), image.target().size()};
  RETURN_IF_ERROR(run.PushTarget(target));
  return image.target();
}

}  // namespace berth::pull
