#include "services/distribution/hosts.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "services/distribution/reference.h"

namespace berth::distribution {
namespace {

// "https://index.docker.io/v1/" -> "docker.io"; "http://h:5000/" -> "h:5000".
std::string HostKey(absl::string_view key) {
  absl::ConsumePrefix(&key, "https://");
  absl::ConsumePrefix(&key, "http://");
  key = key.substr(0, key.find('/'));
  if (key == "index.docker.io" || key == "registry-1.docker.io") return "docker.io";
  return std::string(key);
}

absl::StatusOr<Endpoint> MirrorEndpoint(const std::string& url, const RegistryConfig& config) {
  absl::string_view rest = url;
  bool https = absl::ConsumePrefix(&rest, "https://");
  if (!https && !absl::ConsumePrefix(&rest, "http://")) {
    return InvalidArgument(absl::StrCat("mirror endpoint \"", url, "\" needs http:// or https://"));
  }
  Endpoint endpoint;
  endpoint.host = std::string(rest.substr(0, rest.find('/')));
  endpoint.base_url = absl::StrCat(https ? "https://" : "http://", endpoint.host);
  endpoint.mirror = true;
  if (const HostConfig* host = config.Find(endpoint.host)) endpoint.tls = host->tls;
  return endpoint;
}

}  // namespace

const HostConfig* RegistryConfig::Find(const std::string& host) const {
  auto it = hosts.find(host);
  return it == hosts.end() ? nullptr : &it->second;
}

absl::StatusOr<std::vector<Endpoint>> RegistryConfig::Endpoints(const std::string& domain,
                                                                bool plain_http) const {
  std::vector<Endpoint> out;
  if (auto it = mirrors.find(domain); it != mirrors.end()) {
    for (const std::string& url : it->second) {
      absl::StatusOr<Endpoint> endpoint = MirrorEndpoint(url, *this);
      if (!endpoint.ok()) return endpoint.status();
      out.push_back(*std::move(endpoint));
    }
  }
  Endpoint origin;
  origin.host = RegistryHost(domain);
  const HostConfig* config = Find(domain);
  bool plain = config != nullptr && config->plain_http;
  if (plain_http && !plain) {
    if (!IsLoopbackHost(origin.host)) {
      return InvalidArgument(absl::StrCat(
          "plain HTTP is allowed only for localhost or where configured, not for ", domain));
    }
    plain = true;
  }
  origin.base_url = absl::StrCat(plain ? "http://" : "https://", origin.host);
  if (config != nullptr) origin.tls = config->tls;
  out.push_back(std::move(origin));
  return out;
}

absl::StatusOr<Credentials> DecodeAuth(const std::string& base64) {
  std::string decoded;
  if (!absl::Base64Unescape(base64, &decoded)) return InvalidArgument("auth is not base64");
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) return InvalidArgument("auth is not user:password");
  return Credentials{decoded.substr(0, colon), decoded.substr(colon + 1)};
}

absl::StatusOr<RegistryConfig> RegistryConfigFromToml(const toml::table& section) {
  RegistryConfig config;
  const toml::table* registry = section["registry"].as_table();
  if (registry == nullptr) return config;
  if (const toml::table* mirrors = (*registry)["mirrors"].as_table()) {
    for (const auto& [domain, node] : *mirrors) {
      const toml::array* endpoints = node.as_table() ? (*node.as_table())["endpoints"].as_array()
                                                     : nullptr;
      if (endpoints == nullptr) {
        return InvalidArgument(absl::StrCat("registry.mirrors.\"", std::string(domain.str()),
                                            "\" needs endpoints = [...]"));
      }
      for (const auto& url : *endpoints) {
        if (!url.is_string()) return InvalidArgument("registry mirror endpoints are strings");
        config.mirrors[std::string(domain.str())].push_back(*url.value<std::string>());
      }
    }
  }
  if (const toml::table* configs = (*registry)["configs"].as_table()) {
    for (const auto& [host, node] : *configs) {
      const toml::table* table = node.as_table();
      if (table == nullptr) return InvalidArgument("registry.configs entries are tables");
      HostConfig hc;
      hc.plain_http = (*table)["plain_http"].value_or(false);
      if (const toml::table* tls = (*table)["tls"].as_table()) {
        hc.tls.ca_file = (*tls)["ca_file"].value_or(std::string());
        hc.tls.cert_file = (*tls)["cert_file"].value_or(std::string());
        hc.tls.key_file = (*tls)["key_file"].value_or(std::string());
        hc.tls.skip_verify = (*tls)["insecure_skip_verify"].value_or(false);
      }
      if (const toml::table* auth = (*table)["auth"].as_table()) {
        hc.auth = Credentials{(*auth)["username"].value_or(std::string()),
                              (*auth)["password"].value_or(std::string())};
        if (auto b64 = (*auth)["auth"].value<std::string>()) {
          absl::StatusOr<Credentials> creds = DecodeAuth(*b64);
          if (!creds.ok()) return Annotate(creds.status(), std::string(host.str()));
          hc.auth = *creds;
        }
      }
      config.hosts[std::string(host.str())] = std::move(hc);
    }
  }
  return config;
}

absl::StatusOr<std::map<std::string, Credentials>> ParseDockerConfig(const std::string& text) {
  std::map<std::string, Credentials> out;
  if (text.empty()) return out;
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return InvalidArgument("registry credentials: not a JSON object");
  }
  auto auths = json.find("auths");
  if (auths == json.end()) return out;
  if (!auths->is_object()) return InvalidArgument("registry credentials: auths is not an object");
  for (const auto& [key, entry] : auths->items()) {
    if (!entry.is_object()) continue;
    Credentials creds;
    if (entry.contains("auth") && entry["auth"].is_string() &&
        !entry["auth"].get<std::string>().empty()) {
      absl::StatusOr<Credentials> decoded = DecodeAuth(entry["auth"].get<std::string>());
      if (!decoded.ok()) return Annotate(decoded.status(), absl::StrCat("auths.", key));
      creds = *decoded;
    } else {
      creds.username = entry.value("username", "");
      creds.password = entry.value("password", "");
    }
    if (!creds.username.empty()) out[HostKey(key)] = creds;
  }
  return out;
}

}  // namespace berth::distribution
