#include "ctl/commands/auth_config.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"

namespace berth::ctl {
namespace {

using nlohmann::json;

absl::StatusOr<json> Load() {
  std::ifstream in(AuthConfigPath());
  if (!in) return json::object();
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(AuthConfigPath(), ": not a JSON object"));
  }
  return j;
}

absl::Status Save(const json& j) {
  std::string path = AuthConfigPath();
  std::string dir = path.substr(0, path.rfind('/'));
  for (size_t pos = 1; (pos = dir.find('/', pos)) != std::string::npos; ++pos) {
    mkdir(dir.substr(0, pos).c_str(), 0700);
  }
  mkdir(dir.c_str(), 0700);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write ", tmp));
    out << j.dump(2) << "\n";
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  chmod(tmp.c_str(), 0600);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot replace ", path));
  }
  return absl::OkStatus();
}

}  // namespace

std::string AuthConfigPath() {
  if (const char* path = std::getenv("BERTH_AUTH_CONFIG"); path != nullptr && *path != '\0') {
    return path;
  }
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir != nullptr && *dir != '\0') {
    return absl::StrCat(dir, "/config.json");
  }
  const char* home = std::getenv("HOME");
  return absl::StrCat(home != nullptr ? home : "/root", "/.docker/config.json");
}

std::string ServerKey(const std::string& server) {
  absl::string_view key = server;
  absl::ConsumePrefix(&key, "https://");
  absl::ConsumePrefix(&key, "http://");
  key = key.substr(0, key.find('/'));
  if (key.empty() || key == "index.docker.io" || key == "registry-1.docker.io") return "docker.io";
  return std::string(key);
}

absl::StatusOr<std::string> ReadAuths() {
  absl::StatusOr<json> j = Load();
  if (!j.ok()) return j.status();
  if (!j->contains("auths")) return std::string();
  return json{{"auths", (*j)["auths"]}}.dump();
}

absl::Status StoreLogin(const std::string& server, const std::string& username,
                        const std::string& password) {
  absl::StatusOr<json> j = Load();
  if (!j.ok()) return j.status();
  if (!j->contains("auths") || !(*j)["auths"].is_object()) (*j)["auths"] = json::object();
  (*j)["auths"][ServerKey(server)] = {
      {"auth", absl::Base64Escape(absl::StrCat(username, ":", password))}};
  return Save(*j);
}

absl::Status RemoveLogin(const std::string& server) {
  absl::StatusOr<json> j = Load();
  if (!j.ok()) return j.status();
  std::string key = ServerKey(server);
  if (!j->contains("auths") || !(*j)["auths"].is_object() || !(*j)["auths"].contains(key)) {
    return absl::NotFoundError(absl::StrCat("not logged in to ", key));
  }
  (*j)["auths"].erase(key);
  return Save(*j);
}

}  // namespace berth::ctl
