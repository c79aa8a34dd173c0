#pragma once

// Where and how to reach a registry: the daemon's registry configuration (mirrors, TLS,
// credentials, plain HTTP), read from the pull plugin's config section:
//
//   [plugins."io.containerd.grpc.v1.transfer".registry.mirrors."docker.io"]
//     endpoints = ["http://127.0.0.1:5001", "https://mirror.example"]
//   [plugins."io.containerd.grpc.v1.transfer".registry.configs."reg.example:5000"]
//     plain_http = false
//     tls = { ca_file = "/etc/ca.pem", cert_file = "", key_file = "", insecure_skip_verify = false }
//     auth = { username = "u", password = "p" }     # or auth = "<base64 user:pass>"
//
// and the credentials of a Docker-style config.json ({"auths": {"host": {"auth": b64}}}) that a
// client passes with its request.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "plugins/toml.h"
#include "services/distribution/http.h"

namespace berth::distribution {

struct Credentials {
  std::string username;
  std::string password;
};

struct HostConfig {
  TlsOptions tls;
  bool plain_http = false;
  std::optional<Credentials> auth;
};

struct Endpoint {
  std::string base_url;  // "https://host:port" (no trailing slash)
  std::string host;      // "host:port", the key for credentials and tokens
  TlsOptions tls;
  bool mirror = false;
};

struct RegistryConfig {
  std::map<std::string, std::vector<std::string>> mirrors;  // domain -> endpoint URLs
  std::map<std::string, HostConfig> hosts;                   // host[:port] -> config

  // The endpoints for `domain`: its mirrors in order, then the origin. The origin is plain
  // HTTP only when its config says so, or when `plain_http` is asked for a loopback host.
  // InvalidArgument when plain HTTP is asked for a non-loopback, unconfigured host.
  absl::StatusOr<std::vector<Endpoint>> Endpoints(const std::string& domain,
                                                  bool plain_http) const;
  const HostConfig* Find(const std::string& host) const;
};

// From the plugin's config section (its "registry" table). InvalidArgument on bad values.
absl::StatusOr<RegistryConfig> RegistryConfigFromToml(const toml::table& section);

// {"auths": {"<host>": {"auth": "<base64 user:pass>"} | {"username":..,"password":..}}}.
// Keys may be URLs ("https://index.docker.io/v1/" is docker.io). InvalidArgument on bad JSON.
absl::StatusOr<std::map<std::string, Credentials>> ParseDockerConfig(const std::string& json);

// "user:pass" base64 -> Credentials.
absl::StatusOr<Credentials> DecodeAuth(const std::string& base64);

}  // namespace berth::distribution
