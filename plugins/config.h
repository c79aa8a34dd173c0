#pragma once

// The daemon's configuration: TOML at /etc/berth/config.toml (containerd's version-2 layout).
// Every key has an embedded default, so no file is needed; `berthd config default` prints the
// whole default config, including each plugin's section. Flags override the file.
//
//   version = 2
//   root = "/var/lib/berth"            # persistent data (metadata, content, snapshots)
//   state = "/run/berth"               # volatile data (sockets, bundles)
//   disabled_plugins = []              # plugin URIs "<type>.<id>" not to load
//   required_plugins = []              # plugin URIs whose failure stops the daemon
//   [grpc]   address, uid, gid, max_recv_message_size, max_send_message_size
//   [ttrpc]  address                   # "" = <grpc.address>.ttrpc
//   [debug]  level                     # debug | info | warn | error
//   [plugins."<type>.<id>"]            # per-plugin sections (see each plugin's defaults)
//   [proxy_plugins.<name>] type = "snapshot", address = "<unix socket>"

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "plugins/registry.h"
#include "plugins/toml.h"

namespace berth::plugins {

inline constexpr char kDefaultConfigPath[] = "/etc/berth/config.toml";

struct ProxyPluginConfig {
  std::string type;     // "snapshot" or "content"
  std::string address;  // unix socket path
};

struct Config {
  std::string root = "/var/lib/berth";
  std::string state = "/run/berth";
  std::string grpc_address = "/run/berth/berthd.sock";
  int64_t grpc_uid = 0;
  int64_t grpc_gid = 0;
  int64_t max_recv_message_size = 16 << 20;
  int64_t max_send_message_size = 16 << 20;
  std::string ttrpc_address;  // empty: <grpc_address>.ttrpc
  std::string log_level = "info";
  std::vector<std::string> disabled_plugins;
  std::vector<std::string> required_plugins;
  std::map<std::string, toml::table> plugin_configs;  // by plugin URI
  std::map<std::string, ProxyPluginConfig> proxy_plugins;

  std::string EffectiveTtrpcAddress() const {
    return ttrpc_address.empty() ? grpc_address + ".ttrpc" : ttrpc_address;
  }
};

// Parses config text. InvalidArgument (naming the key) for a wrong type or an unsupported
// version. `source` names the file in messages.
absl::StatusOr<Config> ParseConfig(absl::string_view text, absl::string_view source);

// Loads `path`. A missing file is fine (defaults) unless `must_exist`.
absl::StatusOr<Config> LoadConfig(const std::string& path, bool must_exist);

// The whole default configuration as TOML, with every registered plugin's default section.
std::string DefaultConfigText(const Registry& registry);

}  // namespace berth::plugins
