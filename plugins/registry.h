#pragma once

// The plugin registry: the daemon's components (content store, snapshotters, metadata, gRPC
// services, ...) are plugins that declare a type, an id, the types they require and an init
// function. The Registry orders them by their requirements (cycles are an error), initialises
// them in that order, records each one's outcome for Introspection.Plugins, and destroys the
// instances in reverse order on Shutdown().
//
// Registration is explicit: every implementation exposes `void RegisterX(Registry&)` and
// services/server/builtins.cc calls them, one line per plugin. The Registry is an ordinary
// object (no global state), so tests build small ones.
//
// Outcomes of an init function:
//   - an instance: the plugin is loaded and others can Get<T>() it;
//   - SkipPlugin("why"): the plugin does not apply here (shown as "skip"; not an error);
//   - any other error: recorded as the plugin's init error; the daemon goes on unless the
//     plugin is listed in required_plugins.
//
// Thread safety: Register/InitAll/Shutdown are called from one thread at start-up and exit;
// the lookups (Get, GetAll, Plugins) are safe from any thread once InitAll has returned.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <typeindex>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "plugins/toml.h"

namespace berth::plugins {

// A type-erased plugin instance that remembers the static type it was made from, so Get<T>()
// can check the cast instead of trusting it.
class Instance {
 public:
  template <typename T>
  static Instance Of(std::unique_ptr<T> object) {
    Instance instance;
    instance.type_ = std::type_index(typeid(T));
    instance.object_ = std::shared_ptr<void>(object.release(), [](void* p) {
      delete static_cast<T*>(p);
    });
    return instance;
  }

  template <typename T>
  T* As() const {
    return type_ == std::type_index(typeid(T)) ? static_cast<T*>(object_.get()) : nullptr;
  }
  bool empty() const { return object_ == nullptr; }
  void Reset() { object_.reset(); }

 private:
  std::type_index type_ = std::type_index(typeid(void));
  std::shared_ptr<void> object_;
};

// What a plugin tells Introspection about itself, filled in by its init function.
struct PluginMeta {
  std::vector<std::string> platforms;             // e.g. "linux/amd64"
  std::map<std::string, std::string> exports;     // e.g. {"root": "/var/lib/berth/..."}
  std::vector<std::string> capabilities;          // e.g. "remap-ids"
};

// Daemon-wide facts handed to every plugin.
struct DaemonContext {
  std::string root;           // daemon root (persistent), e.g. /var/lib/berth
  std::string state;          // daemon state (volatile), e.g. /run/berth
  std::string address;        // gRPC socket path
  std::string ttrpc_address;  // ttrpc socket path for shims
};

class Registry;
class InitContext;

using InitFn = std::function<absl::StatusOr<Instance>(InitContext&)>;

struct Registration {
  std::string type;
  std::string id;
  std::vector<std::string> requires_types;  // plugin types; kAllPlugins = all other types
  std::string default_config;               // TOML of this plugin's section (may be empty)
  InitFn init;

  std::string uri() const { return absl::StrCat(type, ".", id); }
};

// What an init function gets: its own directories and config, and the instances it requires.
class InitContext {
 public:
  InitContext(const Registration& registration, const DaemonContext& daemon,
              const toml::table& config, const Registry& registry)
      : registration_(registration), daemon_(daemon), config_(config), registry_(registry) {}

  const Registration& registration() const { return registration_; }
  const DaemonContext& daemon() const { return daemon_; }
  // <daemon root>/<type>.<id> and <daemon state>/<type>.<id> (not created).
  std::string root() const { return absl::StrCat(daemon_.root, "/", registration_.uri()); }
  std::string state() const { return absl::StrCat(daemon_.state, "/", registration_.uri()); }
  // This plugin's section: its defaults overlaid with the user's config.
  const toml::table& config() const { return config_; }
  PluginMeta& meta() { return meta_; }
  // The registry itself, for plugins that report on the others (introspection).
  const Registry& registry() const { return registry_; }

  // The first loaded instance of `type` (NotFound if none loaded), checked to be a T.
  template <typename T>
  absl::StatusOr<T*> Get(absl::string_view type) const;
  template <typename T>
  absl::StatusOr<T*> GetById(absl::string_view type, absl::string_view id) const;
  // Every loaded instance of `type`, by id.
  template <typename T>
  std::map<std::string, T*> GetAll(absl::string_view type) const;

 private:
  const Registration& registration_;
  const DaemonContext& daemon_;
  const toml::table& config_;
  const Registry& registry_;
  PluginMeta meta_;
};

// Status of one plugin after InitAll, for Introspection.Plugins.
struct PluginStatus {
  const Registration* registration;
  PluginMeta meta;
  absl::Status init_error;  // OK when loaded
  bool skipped = false;
};

// A status that means "this plugin does not apply here".
absl::Status SkipPlugin(absl::string_view reason);
bool IsSkipPlugin(const absl::Status& status);

struct InitOptions {
  DaemonContext daemon;
  // [plugins."<type>.<id>"] sections from the config file, keyed by URI.
  std::map<std::string, toml::table> plugin_configs;
  std::set<std::string> disabled;  // URIs not to load
  std::set<std::string> required;  // URIs whose failure fails InitAll
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  ~Registry();

  // AlreadyExists if type+id is taken; InvalidArgument if type, id or init is missing.
  absl::Status Register(Registration registration);

  // Registrations ordered so that each comes after every plugin of the types it requires.
  // InvalidArgument naming the plugins of a dependency cycle. Disabled URIs are left out.
  absl::StatusOr<std::vector<const Registration*>> Graph(
      const std::set<std::string>& disabled = {}) const;

  // Initialises every plugin in Graph order. Fails only on a cycle, a bad config section or a
  // required plugin that did not load.
  absl::Status InitAll(const InitOptions& options);

  // Destroys the instances in reverse init order.
  void Shutdown();

  const std::vector<PluginStatus>& Plugins() const { return statuses_; }
  const std::vector<Registration>& Registrations() const { return registrations_; }

  // The instance of type+id, or the first loaded of `type` when id is empty.
  const Instance* Find(absl::string_view type, absl::string_view id) const;
  std::vector<std::pair<std::string, const Instance*>> FindAll(absl::string_view type) const;

 private:
  struct Loaded {
    const Registration* registration;
    Instance instance;
  };
  absl::Status InitOne(const Registration& registration, const InitOptions& options);

  std::vector<Registration> registrations_;
  std::vector<Loaded> loaded_;  // init order
  std::vector<PluginStatus> statuses_;
};

template <typename T>
absl::StatusOr<T*> InitContext::Get(absl::string_view type) const {
  return GetById<T>(type, "");
}

template <typename T>
absl::StatusOr<T*> InitContext::GetById(absl::string_view type, absl::string_view id) const {
  const Instance* instance = registry_.Find(type, id);
  if (instance == nullptr) {
    return absl::NotFoundError(absl::StrCat("plugin ", type, id.empty() ? "" : ".", id,
                                            " required by ", registration_.uri(),
                                            ": not found"));
  }
  T* object = instance->template As<T>();
  if (object == nullptr) {
    return absl::InternalError(absl::StrCat("plugin ", type, ".", id,
                                            " has an unexpected instance type"));
  }
  return object;
}

template <typename T>
std::map<std::string, T*> InitContext::GetAll(absl::string_view type) const {
  std::map<std::string, T*> out;
  for (const auto& [id, instance] : registry_.FindAll(type)) {
    if (T* object = instance->template As<T>()) out.emplace(id, object);
  }
  return out;
}

}  // namespace berth::plugins
