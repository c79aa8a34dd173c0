#pragma once

// A client of one repository on a registry (OCI distribution API), over a list of endpoints
// (mirrors first, then the origin: hosts.h). Pull-side calls try the endpoints in order and
// remember the first one that answered; push goes to the origin only.
//
// Every request: the cached Authorization for (host, scope) if any; a 401 is answered once
// (auth.h) and the request repeated. Transport failures, 5xx and 429 are retried with backoff
// (kAttempts, doubling from 200 ms). Blob downloads resume with a Range request after a broken
// transfer; a registry that ignores the Range restarts the blob (the sink is reset).
//
// Errors: NotFound "manifest unknown" / "blob unknown" with the reference; Unauthenticated with
// the realm; Unavailable for an unreachable host; FailedPrecondition for a manifest whose bytes
// do not match the digest that named it.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/distribution/auth.h"
#include "services/distribution/hosts.h"
#include "services/distribution/http.h"

namespace berth::distribution {

inline constexpr int kAttempts = 5;

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
};

// Where downloaded blob bytes go. Offset() is where the next byte belongs (a resumed ingest
// starts past 0); Reset() drops everything written so far.
class BlobSink {
 public:
  virtual ~BlobSink() = default;
  virtual int64_t Offset() const = 0;
  virtual absl::Status Write(absl::string_view data) = 0;
  virtual absl::Status Reset() = 0;
};

// Reads a blob to upload, from `offset`, into `buffer`; returns the bytes read.
using BlobSource = std::function<absl::StatusOr<size_t>(int64_t offset, char* buffer, size_t size)>;

class RegistryClient {
 public:
  RegistryClient(std::vector<Endpoint> endpoints, std::string repository, Authorizer& auth)
      : endpoints_(std::move(endpoints)), repository_(std::move(repository)), auth_(auth) {}

  // HEAD (then GET if HEAD gives no digest) of manifests/<object> with every manifest media
  // type accepted. `object` is a tag or a digest.
  absl::StatusOr<Descriptor> Resolve(const std::string& object);
  // The manifest's bytes, verified against desc.digest.
  absl::StatusOr<std::string> FetchManifest(const Descriptor& desc);
  // Streams the blob into `sink` from sink.Offset(), resuming after broken transfers.
  // `progress` (optional) is called after each write with the sink's offset.
  absl::Status FetchBlob(const Descriptor& desc, BlobSink& sink);

  // GET /v2/ on the origin, answering its challenge: checks credentials (berthctl login).
  absl::Status Ping();

  // Push (origin only).
  absl::StatusOr<bool> BlobExists(const std::string& digest);
  // Cross-repository mount from `from_repository` on the same registry; false if the registry
  // started an upload instead (the upload is cancelled).
  absl::StatusOr<bool> MountBlob(const std::string& digest, const std::string& from_repository);
  // Uploads in one PUT, or in chunks of `chunk_size` PATCHes when size exceeds it.
  absl::Status UploadBlob(const Descriptor& desc, const BlobSource& source, int64_t chunk_size);
  absl::Status PutManifest(const std::string& object, const std::string& media_type,
                           const std::string& bytes);

  const std::string& repository() const { return repository_; }
  const Endpoint& origin() const { return endpoints_.back(); }

 private:
  // One request to `endpoint` with auth and retries. `path` starts with "/v2/" or is a full
  // URL (upload locations). `push` selects the pull,push scope.
  absl::StatusOr<HttpResponse> Do(const Endpoint& endpoint, HttpRequest request, bool push,
                                  bool retry = true);
  // Runs `attempt` on each endpoint from the preferred one; returns the first answer that is
  // not a transport error, 5xx or 404 (404 only falls through from mirrors).
  absl::StatusOr<HttpResponse> OnEndpoints(
      const std::function<HttpRequest(const Endpoint&)>& make, size_t* used = nullptr);
  absl::Status FetchBlobFrom(const Endpoint& endpoint, const Descriptor& desc, BlobSink& sink);
  std::string Url(const Endpoint& endpoint, const std::string& path) const;
  std::string Scope(bool push) const;

  std::vector<Endpoint> endpoints_;
  std::string repository_;
  Authorizer& auth_;
  std::atomic<size_t> preferred_{0};  // index of the endpoint that last answered
};

// The error for a non-success HTTP answer (the registry's JSON errors are quoted).
absl::Status HttpError(const std::string& what, const HttpResponse& response);

}  // namespace berth::distribution
