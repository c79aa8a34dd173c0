#include "services/distribution/auth.h"

#include <curl/curl.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"

namespace berth::distribution {
namespace {

std::string Key(const std::string& host, const std::string& scope) {
  return absl::StrCat(host, std::string(1, '\0'), scope);
}

std::string UrlEscape(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::AsciiStrToUpper(absl::StrCat(absl::Hex(c, absl::kZeroPad2))));
    }
  }
  return out;
}

std::string BasicHeader(const Credentials& creds) {
  return absl::StrCat("Authorization: Basic ",
                      absl::Base64Escape(absl::StrCat(creds.username, ":", creds.password)));
}

std::string RealmText(const Challenge& challenge) {
  auto it = challenge.params.find("realm");
  return it == challenge.params.end() ? "" : absl::StrCat(" (realm \"", it->second, "\")");
}

}  // namespace

std::vector<Challenge> ParseChallenges(const std::string& header) {
  std::vector<Challenge> out;
  size_t i = 0, n = header.size();
  auto skip_space = [&] {
    while (i < n && (header[i] == ' ' || header[i] == ',')) ++i;
  };
  while (true) {
    skip_space();
    if (i >= n) break;
    size_t start = i;
    while (i < n && header[i] != ' ' && header[i] != '=') ++i;
    std::string token = header.substr(start, i - start);
    if (i < n && header[i] == '=' && !out.empty()) {  // a parameter of the current challenge
      ++i;
      std::string value;
      if (i < n && header[i] == '"') {
        for (++i; i < n && header[i] != '"'; ++i) {
          if (header[i] == '\\' && i + 1 < n) ++i;
          value.push_back(header[i]);
        }
        ++i;
      } else {
        while (i < n && header[i] != ',') value.push_back(header[i++]);
      }
      out.back().params[absl::AsciiStrToLower(token)] = value;
    } else {
      out.push_back(Challenge{absl::AsciiStrToLower(token), {}});
    }
  }
  return out;
}

std::optional<std::string> Authorizer::Header(const std::string& host, const std::string& scope) {
  absl::MutexLock lock(&mu_);
  for (const std::string& key : {Key(host, scope), host}) {
    auto it = tokens_.find(key);
    if (it != tokens_.end() && it->second.expires > absl::Now()) return it->second.header;
  }
  return std::nullopt;
}

absl::Status Authorizer::Answer(const std::string& host, const std::string& scope,
                                const std::string& www_authenticate, const TlsOptions& tls) {
  std::vector<Challenge> challenges = ParseChallenges(www_authenticate);
  for (const Challenge& challenge : challenges) {
    if (challenge.scheme == "bearer") {
      absl::StatusOr<Token> token = FetchToken(challenge, host, scope, tls);
      if (!token.ok()) return token.status();
      absl::MutexLock lock(&mu_);
      tokens_[Key(host, scope)] = *token;
      return absl::OkStatus();
    }
    if (challenge.scheme == "basic") {
      std::optional<Credentials> creds = lookup_(host);
      std::string realm = RealmText(challenge);
      if (!creds) {
        return absl::UnauthenticatedError(
            absl::StrCat(host, " requires authentication", realm, ": no credentials (berthctl login ",
                         host, ")"));
      }
      absl::MutexLock lock(&mu_);
      auto it = tokens_.find(host);
      if (it != tokens_.end() && it->second.header == BasicHeader(*creds)) {
        return absl::UnauthenticatedError(
            absl::StrCat("401 Unauthorized from ", host, realm, ": credentials refused for user \"",
                         creds->username, "\""));
      }
      tokens_[host] = Token{BasicHeader(*creds)};
      return absl::OkStatus();
    }
  }
  return absl::UnauthenticatedError(absl::StrCat(
      "401 Unauthorized from ", host, " with no usable challenge (\"", www_authenticate, "\")"));
}

absl::Status Authorizer::Refused(const std::string& host, const std::string& www_authenticate) {
  std::vector<Challenge> challenges = ParseChallenges(www_authenticate);
  std::string realm = challenges.empty() ? "" : RealmText(challenges[0]);
  std::optional<Credentials> creds = lookup_(host);
  return absl::UnauthenticatedError(absl::StrCat(
      "401 Unauthorized from ", host, realm,
      creds ? absl::StrCat(": credentials refused for user \"", creds->username, "\"")
            : std::string(": no credentials")));
}

absl::StatusOr<Authorizer::Token> Authorizer::FetchToken(const Challenge& challenge,
                                                         const std::string& host,
                                                         const std::string& scope,
                                                         const TlsOptions& tls) {
  auto realm = challenge.params.find("realm");
  if (realm == challenge.params.end() || realm->second.empty()) {
    return absl::UnauthenticatedError(absl::StrCat("bearer challenge from ", host, " has no realm"));
  }
  HttpRequest request;
  request.url = realm->second;
  std::string sep = request.url.find('?') == std::string::npos ? "?" : "&";
  if (auto service = challenge.params.find("service"); service != challenge.params.end()) {
    absl::StrAppend(&request.url, sep, "service=", UrlEscape(service->second));
    sep = "&";
  }
  std::string want_scope = scope;
  if (auto s = challenge.params.find("scope"); s != challenge.params.end()) want_scope = s->second;
  if (!want_scope.empty()) absl::StrAppend(&request.url, sep, "scope=", UrlEscape(want_scope));
  std::optional<Credentials> creds = lookup_(host);
  if (creds) request.headers.push_back(BasicHeader(*creds));
  request.timeout_seconds = 60;
  absl::StatusOr<HttpResponse> response = Perform(request, tls);
  if (!response.ok()) return Annotate(response.status(), "fetching a registry token");
  if (response->status == 401 || response->status == 403) {
    return absl::UnauthenticatedError(absl::StrCat(
        response->status, " Unauthorized from token server (realm \"", realm->second, "\")",
        creds ? absl::StrCat(": credentials refused for user \"", creds->username, "\"")
              : std::string(": no credentials")));
  }
  if (response->status != 200) {
    return Unavailable(absl::StrCat("token server ", realm->second, " answered ", response->status));
  }
  nlohmann::json json = nlohmann::json::parse(response->body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return Unavailable(absl::StrCat("token server ", realm->second, " answered no JSON"));
  }
  std::string token = json.value("token", "");
  if (token.empty()) token = json.value("access_token", "");
  if (token.empty()) return Unavailable(absl::StrCat("token server ", realm->second, " gave no token"));
  int64_t expires_in = json.value("expires_in", int64_t{60});
  if (expires_in < 60) expires_in = 60;
  // Renew a little early so a long pull does not present an expired token.
  return Token{absl::StrCat("Authorization: Bearer ", token),
               absl::Now() + absl::Seconds(expires_in) - absl::Seconds(10)};
}

}  // namespace berth::distribution
