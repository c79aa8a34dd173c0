#include "services/distribution/registry_client.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "content/digest.h"
#include "nlohmann/json.hpp"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "services/archive/oci.h"

namespace berth::distribution {
namespace {

constexpr char kManifestAccept[] =
    "Accept: application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json";
constexpr int64_t kManifestLimit = 8 << 20;

bool Retryable(long status) { return status >= 500 || status == 429; }

void Backoff(int attempt) { absl::SleepFor(absl::Milliseconds(200) * (1 << attempt)); }

std::string MediaTypeOf(const HttpResponse& response) {
  std::string type = response.Header("content-type");
  return type.substr(0, type.find(';'));
}

}  // namespace

absl::Status HttpError(const std::string& what, const HttpResponse& response) {
  std::string detail;
  nlohmann::json json = nlohmann::json::parse(response.body, nullptr, false);
  if (json.is_object() && json.contains("errors") && json["errors"].is_array() &&
      !json["errors"].empty() && json["errors"][0].is_object()) {
    detail = absl::StrCat(": ", json["errors"][0].value("message", ""));
  }
  std::string text = absl::StrCat(what, ": HTTP ", response.status, detail);
  switch (response.status) {
    case 401: return absl::UnauthenticatedError(text);
    case 403: return absl::PermissionDeniedError(text);
    case 404: return absl::NotFoundError(text);
    case 400: case 405: case 409: case 412: return absl::FailedPreconditionError(text);
    case 429: return absl::ResourceExhaustedError(text);
    default: return absl::UnavailableError(text);
  }
}

std::string RegistryClient::Url(const Endpoint& endpoint, const std::string& path) const {
  if (absl::StartsWith(path, "http://") || absl::StartsWith(path, "https://")) return path;
  return absl::StrCat(endpoint.base_url, path);
}

std::string RegistryClient::Scope(bool push) const {
  if (repository_.empty()) return "";
  return absl::StrCat("repository:", repository_, push ? ":pull,push" : ":pull");
}

absl::StatusOr<HttpResponse> RegistryClient::Do(const Endpoint& endpoint, HttpRequest request,
                                                bool push, bool retry) {
  request.url = Url(endpoint, request.url);
  const std::string scope = Scope(push);
  bool answered = false;
  absl::Status last;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    HttpRequest r = request;
    if (std::optional<std::string> header = auth_.Header(endpoint.host, scope)) {
      r.headers.push_back(*header);
    }
    absl::StatusOr<HttpResponse> response = Perform(r, endpoint.tls);
    if (!response.ok()) {
      last = response.status();
      if (!retry || !absl::IsUnavailable(last)) return last;
      Backoff(attempt);
      continue;
    }
    if (response->status == 401) {
      if (answered) return auth_.Refused(endpoint.host, response->Header("www-authenticate"));
      RETURN_IF_ERROR(auth_.Answer(endpoint.host, scope, response->Header("www-authenticate"),
                                   endpoint.tls));
      answered = true;
      --attempt;  // answering a challenge is not a failure
      continue;
    }
    if (retry && Retryable(response->status) && attempt + 1 < kAttempts) {
      BERTH_LOG(WARN) << request.method << " " << request.url << ": HTTP " << response->status
                         << ", retrying";
      Backoff(attempt);
      continue;
    }
    return response;
  }
  return last;
}

absl::StatusOr<HttpResponse> RegistryClient::OnEndpoints(
    const std::function<HttpRequest(const Endpoint&)>& make, size_t* used) {
  absl::Status first_error;
  size_t start = preferred_.load();
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    size_t index = (start + i) % endpoints_.size();
    const Endpoint& endpoint = endpoints_[index];
    // A failing mirror is skipped at once; the origin gets the retries.
    absl::StatusOr<HttpResponse> response =
        Do(endpoint, make(endpoint), /*push=*/false, /*retry=*/!endpoint.mirror);
    bool fall_through =
        !response.ok() ? absl::IsUnavailable(response.status())
                       : (Retryable(response->status) ||
                          (endpoint.mirror && (response->status == 404 || response->status == 401 ||
                                               response->status == 403)));
    if (!fall_through || index == endpoints_.size() - 1) {
      if (response.ok()) {
        preferred_.store(index);
        if (used != nullptr) *used = index;
      }
      return response;
    }
    BERTH_LOG(WARN) << "registry endpoint " << endpoint.base_url << " failed ("
                       << (response.ok() ? absl::StrCat("HTTP ", response->status)
                                         : std::string(response.status().message()))
                       << "), trying the next one";
    if (first_error.ok() && !response.ok()) first_error = response.status();
  }
  return first_error.ok() ? absl::UnavailableError("no registry endpoint") : first_error;
}

absl::Status RegistryClient::Ping() {
  HttpRequest request;
  request.url = "/v2/";
  request.timeout_seconds = 60;
  ASSIGN_OR_RETURN(HttpResponse response, Do(origin(), request, /*push=*/false));
  if (response.status == 200) return absl::OkStatus();
  return HttpError(absl::StrCat("logging in to ", origin().host), response);
}

absl::StatusOr<Descriptor> RegistryClient::Resolve(const std::string& object) {
  const std::string path = absl::StrCat("/v2/", repository_, "/manifests/", object);
  const std::string what = absl::StrCat(repository_, absl::StartsWith(object, "sha256:") ? "@" : ":",
                                        object);
  for (const char* method : {"HEAD", "GET"}) {
    ASSIGN_OR_RETURN(HttpResponse response, OnEndpoints([&](const Endpoint&) {
                       HttpRequest request;
                       request.method = method;
                       request.url = path;
                       request.headers = {kManifestAccept};
                       request.timeout_seconds = 120;
                       return request;
                     }));
    if (response.status == 404) {
      return absl::NotFoundError(absl::StrCat("manifest unknown: ", what));
    }
    if (response.status != 200) return HttpError(absl::StrCat("resolving ", what), response);
    Descriptor desc;
    desc.media_type = MediaTypeOf(response);
    desc.digest = response.Header("docker-content-digest");
    if (std::string(method) == "GET") {
      desc.size = static_cast<int64_t>(response.body.size());
      std::string actual = content::Digest::FromBytes(response.body).string();
      if (absl::StartsWith(object, "sha256:") && actual != object) {
        return FailedPrecondition(absl::StrCat("manifest ", what, " has digest ", actual));
      }
      desc.digest = actual;
      if (desc.media_type.empty() || desc.media_type == "application/json") {
        nlohmann::json json = nlohmann::json::parse(response.body, nullptr, false);
        if (json.is_object()) desc.media_type = json.value("mediaType", "");
      }
    } else {
      if (absl::StartsWith(object, "sha256:")) desc.digest = object;
      std::string length = response.Header("content-length");
      if (desc.digest.empty() || length.empty() || desc.media_type.empty()) continue;
      desc.size = std::strtoll(length.c_str(), nullptr, 10);
    }
    if (!archive::IsIndex(desc.media_type) && !archive::IsManifest(desc.media_type)) {
      return FailedPrecondition(absl::StrCat("unsupported manifest type \"", desc.media_type,
                                             "\" for ", what));
    }
    return desc;
  }
  return absl::UnavailableError(absl::StrCat("resolving ", what, ": no usable answer"));
}

absl::StatusOr<std::string> RegistryClient::FetchManifest(const Descriptor& desc) {
  if (desc.size > kManifestLimit) {
    return FailedPrecondition(absl::StrCat("manifest ", desc.digest, " is too large"));
  }
  ASSIGN_OR_RETURN(HttpResponse response, OnEndpoints([&](const Endpoint&) {
                     HttpRequest request;
                     request.url = absl::StrCat("/v2/", repository_, "/manifests/", desc.digest);
                     request.headers = {kManifestAccept};
                     request.timeout_seconds = 120;
                     return request;
                   }));
  if (response.status == 404) {
    return absl::NotFoundError(absl::StrCat("manifest unknown: ", repository_, "@", desc.digest));
  }
  if (response.status != 200) return HttpError(absl::StrCat("fetching ", desc.digest), response);
  std::string actual = content::Digest::FromBytes(response.body).string();
  if (actual != desc.digest) {
    return FailedPrecondition(absl::StrCat("manifest ", repository_, "@", desc.digest,
                                           ": content has digest ", actual));
  }
  return std::move(response.body);
}

}  // namespace berth::distribution
