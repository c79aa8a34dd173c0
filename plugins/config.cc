#include "plugins/config.h"

#include <sstream>

#include "absl/strings/str_cat.h"
#include "plugins/base/file_util.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"

namespace berth::plugins {
namespace {

absl::Status WrongType(absl::string_view source, absl::string_view key, absl::string_view want) {
  return absl::InvalidArgumentError(
      absl::StrCat(source, ": config key `", key, "` must be ", want));
}

std::string_view StdView(absl::string_view s) { return std::string_view(s.data(), s.size()); }

template <typename T>
absl::Status Read(const toml::table& table, absl::string_view source, absl::string_view key,
                  T& out) {
  const toml::node* node = table.get(StdView(key));
  if (node == nullptr) return absl::OkStatus();
  std::optional<T> value = node->value<T>();
  if (!value) return WrongType(source, key, std::is_same_v<T, std::string> ? "a string" : "a number");
  out = *value;
  return absl::OkStatus();
}

absl::Status ReadStrings(const toml::table& table, absl::string_view source,
                         absl::string_view key, std::vector<std::string>& out) {
  const toml::node* node = table.get(StdView(key));
  if (node == nullptr) return absl::OkStatus();
  const toml::array* array = node->as_array();
  if (array == nullptr) return WrongType(source, key, "an array of strings");
  out.clear();
  for (const toml::node& item : *array) {
    std::optional<std::string> value = item.value<std::string>();
    if (!value) return WrongType(source, key, "an array of strings");
    out.push_back(*value);
  }
  return absl::OkStatus();
}

// The table at `key`: null if absent, InvalidArgument if `key` holds something else.
absl::StatusOr<const toml::table*> Section(const toml::table& table, absl::string_view source,
                                           absl::string_view key) {
  const toml::node* node = table.get(StdView(key));
  if (node == nullptr) return nullptr;
  if (!node->is_table()) return WrongType(source, key, "a table");
  return node->as_table();
}

absl::Status ReadGrpc(const toml::table& root, absl::string_view source, Config& config) {
  ASSIGN_OR_RETURN(const toml::table* grpc, Section(root, source, "grpc"));
  if (grpc == nullptr) return absl::OkStatus();
  RETURN_IF_ERROR(Read(*grpc, source, "address", config.grpc_address));
  RETURN_IF_ERROR(Read(*grpc, source, "uid", config.grpc_uid));
  RETURN_IF_ERROR(Read(*grpc, source, "gid", config.grpc_gid));
  RETURN_IF_ERROR(Read(*grpc, source, "max_recv_message_size", config.max_recv_message_size));
  RETURN_IF_ERROR(Read(*grpc, source, "max_send_message_size", config.max_send_message_size));
  return absl::OkStatus();
}

absl::Status ReadPlugins(const toml::table& root, absl::string_view source, Config& config) {
  ASSIGN_OR_RETURN(const toml::table* plugins, Section(root, source, "plugins"));
  if (plugins != nullptr) {
    for (const auto& [uri, section] : *plugins) {
      if (!section.is_table()) return WrongType(source, absl::StrCat("plugins.", std::string(uri.str())), "a table");
      config.plugin_configs[std::string(uri.str())] = *section.as_table();
    }
  }
  ASSIGN_OR_RETURN(const toml::table* proxies, Section(root, source, "proxy_plugins"));
  if (proxies != nullptr) {
    for (const auto& [name, section] : *proxies) {
      const toml::table* table = section.as_table();
      std::string key = absl::StrCat("proxy_plugins.", std::string(name.str()));
      if (table == nullptr) return WrongType(source, key, "a table");
      ProxyPluginConfig proxy;
      RETURN_IF_ERROR(Read(*table, key, "type", proxy.type));
      RETURN_IF_ERROR(Read(*table, key, "address", proxy.address));
      if (proxy.type.empty() || proxy.address.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(source, ": ", key, " needs a type and an address"));
      }
      config.proxy_plugins[std::string(name.str())] = proxy;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Config> ParseConfig(absl::string_view text, absl::string_view source) {
  toml::parse_result parsed = toml::parse(StdView(text), StdView(source));
  if (!parsed) {
    std::ostringstream where;
    where << parsed.error().source().begin;
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", where.str(), ": ",
                                                   std::string(parsed.error().description())));
  }
  const toml::table& root = parsed.table();
  Config config;
  int64_t version = 2;
  RETURN_IF_ERROR(Read(root, source, "version", version));
  if (version != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": unsupported config version ", version, " (want 2)"));
  }
  RETURN_IF_ERROR(Read(root, source, "root", config.root));
  RETURN_IF_ERROR(Read(root, source, "state", config.state));
  RETURN_IF_ERROR(ReadStrings(root, source, "disabled_plugins", config.disabled_plugins));
  RETURN_IF_ERROR(ReadStrings(root, source, "required_plugins", config.required_plugins));
  RETURN_IF_ERROR(ReadGrpc(root, source, config));
  ASSIGN_OR_RETURN(const toml::table* ttrpc, Section(root, source, "ttrpc"));
  if (ttrpc != nullptr) RETURN_IF_ERROR(Read(*ttrpc, source, "address", config.ttrpc_address));
  ASSIGN_OR_RETURN(const toml::table* debug, Section(root, source, "debug"));
  if (debug != nullptr) RETURN_IF_ERROR(Read(*debug, source, "level", config.log_level));
  RETURN_IF_ERROR(ReadPlugins(root, source, config));
  static const char* const kKnown[] = {"version", "root", "state", "disabled_plugins",
                                       "required_plugins", "grpc", "ttrpc", "debug",
                                       "plugins", "proxy_plugins"};
  for (const auto& [key, value] : root) {
    if (std::find(std::begin(kKnown), std::end(kKnown), key.str()) == std::end(kKnown)) {
      BERTH_LOG(WARN) << source << ": ignoring unknown config key `" << key.str() << "`";
    }
  }
  return config;
}

absl::StatusOr<Config> LoadConfig(const std::string& path, bool must_exist) {
  if (!must_exist && !PathExists(path)) return Config();
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseConfig(text, path);
}

std::string DefaultConfigText(const Registry& registry) {
  Config defaults;
  toml::table root{
      {"version", 2},
      {"root", defaults.root},
      {"state", defaults.state},
      {"disabled_plugins", toml::array{}},
      {"required_plugins", toml::array{}},
      {"grpc", toml::table{{"address", defaults.grpc_address},
                           {"uid", defaults.grpc_uid},
                           {"gid", defaults.grpc_gid},
                           {"max_recv_message_size", defaults.max_recv_message_size},
                           {"max_send_message_size", defaults.max_send_message_size}}},
      {"ttrpc", toml::table{{"address", ""}}},
      {"debug", toml::table{{"level", defaults.log_level}}},
  };
  toml::table plugins;
  for (const Registration& r : registry.Registrations()) {
    toml::parse_result parsed = toml::parse(r.default_config);
    plugins.insert_or_assign(r.uri(), parsed ? std::move(parsed).table() : toml::table());
  }
  root.insert_or_assign("plugins", std::move(plugins));
  root.insert_or_assign("proxy_plugins", toml::table{});
  std::ostringstream out;
  out << root << "\n";
  return out.str();
}

}  // namespace berth::plugins
