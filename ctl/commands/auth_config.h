#pragma once

// berthctl's registry credentials: a Docker-style config.json ({"auths": {"<server>":
// {"auth": base64("user:pass")}}}) at $BERTH_AUTH_CONFIG, else $DOCKER_CONFIG/config.json,
// else ~/.docker/config.json, so docker, skopeo and berthctl share one login. Pull and push send
// the "auths" part with each request; the daemon never stores it.

#include <string>

#include "absl/status/statusor.h"

namespace berth::ctl {

std::string AuthConfigPath();
// {"auths": {...}} of the file, or "" when it does not exist. InvalidArgument on bad JSON.
absl::StatusOr<std::string> ReadAuths();
// Adds or replaces `server`'s entry (file mode 0600, directory created 0700).
absl::Status StoreLogin(const std::string& server, const std::string& username,
                        const std::string& password);
// Removes `server`'s entry; NotFound if there was none.
absl::Status RemoveLogin(const std::string& server);
// "docker.io" for Docker Hub's spellings, else the host[:port] of a server or URL.
std::string ServerKey(const std::string& server);

}  // namespace berth::ctl
