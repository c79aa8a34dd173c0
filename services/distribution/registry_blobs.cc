// RegistryClient's blob transfers: resumable downloads and uploads (monolithic or chunked).

#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "services/distribution/registry_client.h"

namespace berth::distribution {
namespace {

std::string WithQuery(const std::string& url, const std::string& query) {
  return absl::StrCat(url, url.find('?') == std::string::npos ? "?" : "&", query);
}

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == ':') out += "%3A"; else if (c == '/') out += "%2F"; else out.push_back(c);
  }
  return out;
}

}  // namespace

absl::Status RegistryClient::FetchBlob(const Descriptor& desc, BlobSink& sink) {
  absl::Status last;
  size_t start = preferred_.load();
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    const Endpoint& endpoint = endpoints_[(start + i) % endpoints_.size()];
    last = FetchBlobFrom(endpoint, desc, sink);
    if (last.ok() || !(absl::IsUnavailable(last) || (endpoint.mirror && absl::IsNotFound(last)))) {
      return last;
    }
    BERTH_LOG(WARN) << "blob " << desc.digest << " from " << endpoint.base_url << ": "
                       << last.message() << "; trying the next endpoint";
  }
  return last;
}

absl::Status RegistryClient::FetchBlobFrom(const Endpoint& endpoint, const Descriptor& desc,
                                           BlobSink& sink) {
  const std::string what = absl::StrCat("blob ", repository_, "@", desc.digest);
  absl::Status last;
  for (int attempt = 0; attempt < kAttempts;) {
    int64_t offset = sink.Offset();
    if (desc.size > 0 && offset == desc.size) return absl::OkStatus();
    HttpRequest request;
    request.url = absl::StrCat("/v2/", repository_, "/blobs/", desc.digest);
    if (offset > 0) request.headers.push_back(absl::StrCat("Range: bytes=", offset, "-"));
    request.before_sink = [&](long status) -> absl::Status {
      if (status != 206 && sink.Offset() > 0) return sink.Reset();  // Range ignored: restart
      return absl::OkStatus();
    };
    request.sink = [&](absl::string_view data) -> absl::Status {
      if (desc.size > 0 && sink.Offset() + static_cast<int64_t>(data.size()) > desc.size) {
        return FailedPrecondition(absl::StrCat(what, ": more bytes than its size ", desc.size));
      }
      return sink.Write(data);
    };
    absl::StatusOr<HttpResponse> response = Do(endpoint, request, /*push=*/false, /*retry=*/false);
    bool progressed = sink.Offset() > offset;
    if (!response.ok()) {
      if (!absl::IsUnavailable(response.status())) return response.status();
      last = response.status();
    } else if (response->status == 200 || response->status == 206) {
      if (desc.size <= 0 || sink.Offset() == desc.size) return absl::OkStatus();
      last = Unavailable(absl::StrCat(what, ": transfer ended at ", sink.Offset(), " of ",
                                      desc.size, " bytes"));
    } else if (response->status == 416) {
      RETURN_IF_ERROR(sink.Reset());
      last = Unavailable(absl::StrCat(what, ": range not satisfiable"));
    } else if (response->status == 404) {
      return absl::NotFoundError(absl::StrCat("blob unknown: ", repository_, "@", desc.digest));
    } else if (response->status >= 500 || response->status == 429) {
      last = HttpError(what, *response);
    } else {
      return HttpError(what, *response);
    }
    if (progressed) {
      BERTH_LOG(INFO) << what << ": resuming at byte " << sink.Offset() << " (" << last.message()
                      << ")";
      continue;  // a transfer that moved forward does not use up an attempt
    }
    absl::SleepFor(absl::Milliseconds(200) * (1 << attempt));
    ++attempt;
  }
  return last;
}

absl::StatusOr<bool> RegistryClient::BlobExists(const std::string& digest) {
  HttpRequest request;
  request.method = "HEAD";
  request.url = absl::StrCat("/v2/", repository_, "/blobs/", digest);
  request.timeout_seconds = 120;
  ASSIGN_OR_RETURN(HttpResponse response, Do(origin(), request, /*push=*/true));
  if (response.status == 200) return true;
  if (response.status == 404) return false;
  return HttpError(absl::StrCat("checking blob ", digest), response);
}

absl::StatusOr<bool> RegistryClient::MountBlob(const std::string& digest,
                                               const std::string& from_repository) {
  HttpRequest request;
  request.method = "POST";
  request.url = absl::StrCat("/v2/", repository_, "/blobs/uploads/?mount=", Escape(digest),
                             "&from=", Escape(from_repository));
  request.timeout_seconds = 120;
  ASSIGN_OR_RETURN(HttpResponse response, Do(origin(), request, /*push=*/true));
  if (response.status == 201) return true;
  if (response.status == 202 && !response.Header("location").empty()) {
    HttpRequest cancel;
    cancel.method = "DELETE";
    cancel.url = Url(origin(), response.Header("location"));
    (void)Do(origin(), cancel, /*push=*/true);
  }
  return false;
}

absl::Status RegistryClient::UploadBlob(const Descriptor& desc, const BlobSource& source,
                                        int64_t chunk_size) {
  const std::string what = absl::StrCat("uploading ", desc.digest);
  HttpRequest start;
  start.method = "POST";
  start.url = absl::StrCat("/v2/", repository_, "/blobs/uploads/");
  start.timeout_seconds = 120;
  ASSIGN_OR_RETURN(HttpResponse started, Do(origin(), start, /*push=*/true));
  if (started.status != 202) return HttpError(what, started);
  std::string location = started.Header("location");
  if (location.empty()) return Unavailable(absl::StrCat(what, ": no upload location"));
  auto body = [&](HttpRequest& request, int64_t from, int64_t length) {
    request.body_size = length;
    auto holder = std::make_shared<int64_t>(0);
    request.body_source = [&source, from, length, holder](char* buffer,
                                                          size_t size) -> absl::StatusOr<size_t> {
      size_t want = static_cast<size_t>(std::min<int64_t>(size, length - *holder));
      if (want == 0) return size_t{0};
      ASSIGN_OR_RETURN(size_t n, source(from + *holder, buffer, want));
      *holder += static_cast<int64_t>(n);
      return n;
    };
    request.headers.push_back("Content-Type: application/octet-stream");
  };
  int64_t offset = 0;
  if (desc.size > chunk_size) {
    for (; offset < desc.size; offset += chunk_size) {
      int64_t length = std::min(chunk_size, desc.size - offset);
      HttpRequest patch;
      patch.method = "PATCH";
      patch.url = Url(origin(), location);
      body(patch, offset, length);
      patch.headers.push_back(
          absl::StrCat("Content-Range: ", offset, "-", offset + length - 1));
      ASSIGN_OR_RETURN(HttpResponse answer, Do(origin(), patch, /*push=*/true, /*retry=*/false));
      if (answer.status != 202) return HttpError(what, answer);
      if (!answer.Header("location").empty()) location = answer.Header("location");
    }
  }
  HttpRequest put;
  put.method = "PUT";
  put.url = WithQuery(Url(origin(), location), absl::StrCat("digest=", Escape(desc.digest)));
  if (offset < desc.size) {
    body(put, offset, desc.size - offset);
  } else {
    put.headers.push_back("Content-Type: application/octet-stream");
  }
  ASSIGN_OR_RETURN(HttpResponse done, Do(origin(), put, /*push=*/true, /*retry=*/false));
  if (done.status != 201) return HttpError(what, done);
  return absl::OkStatus();
}

absl::Status RegistryClient::PutManifest(const std::string& object, const std::string& media_type,
                                         const std::string& bytes) {
  HttpRequest put;
  put.method = "PUT";
  put.url = absl::StrCat("/v2/", repository_, "/manifests/", object);
  put.headers.push_back(absl::StrCat("Content-Type: ", media_type));
  put.body = bytes;
  put.timeout_seconds = 120;
  ASSIGN_OR_RETURN(HttpResponse response, Do(origin(), put, /*push=*/true));
  if (response.status != 201 && response.status != 200) {
    return HttpError(absl::StrCat("pushing manifest ", repository_, ":", object), response);
  }
  return absl::OkStatus();
}

}  // namespace berth::distribution
