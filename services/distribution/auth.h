#pragma once

// Registry authentication: anonymous, Basic, and Bearer tokens obtained from the realm named
// in a 401's WWW-Authenticate challenge (Docker's token protocol: GET
// <realm>?service=<service>&scope=<scope>, with Basic credentials when we have some; the
// answer's "token" or "access_token"). Tokens are cached per host and scope until they
// expire; Basic answers are cached per host.
//
// Thread safety: all methods may be called from any thread.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/distribution/hosts.h"

namespace berth::distribution {

struct Challenge {
  std::string scheme;                         // lower case: "basic", "bearer"
  std::map<std::string, std::string> params;  // realm, service, scope, ...
};

// Parses a WWW-Authenticate value (one or more challenges, quoted parameters).
std::vector<Challenge> ParseChallenges(const std::string& header);

class Authorizer {
 public:
  // `lookup` returns the credentials for a host ("h:port" or a domain), if any.
  using Lookup = std::function<std::optional<Credentials>(const std::string& host)>;
  explicit Authorizer(Lookup lookup) : lookup_(std::move(lookup)) {}

  // The Authorization header for a request to `host` needing `scope`, if one is known.
  std::optional<std::string> Header(const std::string& host, const std::string& scope);

  // Handles a 401 from `host` for `scope`: answers its challenge (fetching a token over
  // `tls`). Unauthenticated with the realm when credentials are missing or refused.
  absl::Status Answer(const std::string& host, const std::string& scope,
                      const std::string& www_authenticate, const TlsOptions& tls);

  // The error for a 401 that persists after its challenge was answered.
  absl::Status Refused(const std::string& host, const std::string& www_authenticate);

 private:
  struct Token {
    std::string header;
    absl::Time expires = absl::InfiniteFuture();
  };
  absl::StatusOr<Token> FetchToken(const Challenge& challenge, const std::string& host,
                                   const std::string& scope, const TlsOptions& tls);

  Lookup lookup_;
  absl::Mutex mu_;
  std::map<std::string, Token> tokens_ ABSL_GUARDED_BY(mu_);  // host \0 scope (or host)
};

}  // namespace berth::distribution
