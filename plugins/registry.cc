#include "plugins/registry.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "plugins/base/log.h"
#include "plugins/types.h"

namespace berth::plugins {
namespace {

constexpr char kSkipPayloadUrl[] = "berth.dev/skip-plugin";

bool RequiresAll(const Registration& r) {
  return std::find(r.requires_types.begin(), r.requires_types.end(), kAllPlugins) !=
         r.requires_types.end();
}

// Whether `r` must come after `other`.
bool DependsOn(const Registration& r, const Registration& other) {
  if (&r == &other) return false;
  if (RequiresAll(r)) return !RequiresAll(other);
  return std::find(r.requires_types.begin(), r.requires_types.end(), other.type) !=
         r.requires_types.end();
}

// Parses a plugin's embedded default config; a broken default is a programming error that the
// registry tests catch, so report it rather than guess.
absl::StatusOr<toml::table> ParseDefaults(const Registration& r) {
  toml::parse_result parsed = toml::parse(r.default_config);
  if (!parsed) {
    return absl::InternalError(absl::StrCat("default config of ", r.uri(), ": ",
                                            std::string(parsed.error().description())));
  }
  return std::move(parsed).table();
}

// Overlays `user` onto `defaults`, recursing into tables.
void Overlay(toml::table& defaults, const toml::table& user) {
  for (const auto& [key, value] : user) {
    toml::node* existing = defaults.get(key);
    if (existing != nullptr && existing->is_table() && value.is_table()) {
      Overlay(*existing->as_table(), *value.as_table());
    } else {
      defaults.insert_or_assign(key, value);
    }
  }
}

}  // namespace

absl::Status SkipPlugin(absl::string_view reason) {
  absl::Status status = absl::FailedPreconditionError(absl::StrCat("skip plugin: ", reason));
  status.SetPayload(kSkipPayloadUrl, absl::Cord("1"));
  return status;
}

bool IsSkipPlugin(const absl::Status& status) {
  return status.GetPayload(kSkipPayloadUrl).has_value();
}

Registry::~Registry() { Shutdown(); }

absl::Status Registry::Register(Registration registration) {
  if (registration.type.empty() || registration.id.empty() || !registration.init) {
    return absl::InvalidArgumentError("plugin registration needs a type, an id and an init");
  }
  for (const Registration& existing : registrations_) {
    if (existing.type == registration.type && existing.id == registration.id) {
      return absl::AlreadyExistsError(
          absl::StrCat("plugin ", registration.uri(), ": already exists"));
    }
  }
  registrations_.push_back(std::move(registration));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<const Registration*>> Registry::Graph(
    const std::set<std::string>& disabled) const {
  std::vector<const Registration*> pending;
  for (const Registration& r : registrations_) {
    if (!disabled.contains(r.uri())) pending.push_back(&r);
  }
  // Kahn's algorithm, keeping registration order among plugins that are ready together.
  std::vector<const Registration*> ordered;
  while (!pending.empty()) {
    auto ready = std::find_if(pending.begin(), pending.end(), [&](const Registration* r) {
      return std::none_of(pending.begin(), pending.end(),
                          [&](const Registration* other) { return DependsOn(*r, *other); });
    });
    if (ready == pending.end()) {
      std::vector<std::string> names;
      for (const Registration* r : pending) names.push_back(r->uri());
      return absl::InvalidArgumentError(
          absl::StrCat("plugin dependency cycle among: ", absl::StrJoin(names, ", ")));
    }
    ordered.push_back(*ready);
    pending.erase(ready);
  }
  return ordered;
}

absl::Status Registry::InitAll(const InitOptions& options) {
  absl::StatusOr<std::vector<const Registration*>> graph = Graph(options.disabled);
  if (!graph.ok()) return graph.status();
  for (const Registration* r : *graph) {
    absl::Status status = InitOne(*r, options);
    if (!status.ok() && options.required.contains(r->uri())) {
      return absl::FailedPreconditionError(
          absl::StrCat("required plugin ", r->uri(), " did not load: ", status.message()));
    }
  }
  for (const std::string& uri : options.required) {
    bool known = std::any_of(registrations_.begin(), registrations_.end(),
                             [&](const Registration& r) { return r.uri() == uri; });
    if (!known || options.disabled.contains(uri)) {
      return absl::FailedPreconditionError(
          absl::StrCat("required plugin ", uri, " is unknown or disabled"));
    }
  }
  return absl::OkStatus();
}

absl::Status Registry::InitOne(const Registration& r, const InitOptions& options) {
  PluginStatus status{.registration = &r};
  absl::StatusOr<toml::table> config = ParseDefaults(r);
  if (config.ok()) {
    auto user = options.plugin_configs.find(r.uri());
    if (user != options.plugin_configs.end()) Overlay(*config, user->second);
  }
  toml::table empty;
  InitContext context(r, options.daemon, config.ok() ? *config : empty, *this);
  absl::StatusOr<Instance> instance =
      config.ok() ? r.init(context) : absl::StatusOr<Instance>(config.status());
  status.meta = context.meta();
  if (instance.ok()) {
    loaded_.push_back(Loaded{&r, std::move(instance).value()});
    BERTH_LOG(DEBUG) << "loaded plugin " << r.uri();
  } else {
    status.init_error = instance.status();
    status.skipped = IsSkipPlugin(instance.status());
    if (status.skipped) {
      BERTH_LOG(INFO) << "skip plugin " << r.uri() << ": " << instance.status().message();
    } else {
      BERTH_LOG(WARN) << "failed to load plugin " << r.uri() << ": " << instance.status();
    }
  }
  absl::Status result = status.init_error;
  statuses_.push_back(std::move(status));
  return result;
}

void Registry::Shutdown() {
  while (!loaded_.empty()) {
    BERTH_LOG(DEBUG) << "stopping plugin " << loaded_.back().registration->uri();
    loaded_.back().instance.Reset();
    loaded_.pop_back();
  }
}

const Instance* Registry::Find(absl::string_view type, absl::string_view id) const {
  for (const Loaded& loaded : loaded_) {
    if (loaded.registration->type == type && (id.empty() || loaded.registration->id == id)) {
      return &loaded.instance;
    }
  }
  return nullptr;
}

std::vector<std::pair<std::string, const Instance*>> Registry::FindAll(
    absl::string_view type) const {
  std::vector<std::pair<std::string, const Instance*>> out;
  for (const Loaded& loaded : loaded_) {
    if (loaded.registration->type == type) {
      out.emplace_back(loaded.registration->id, &loaded.instance);
    }
  }
  return out;
}

}  // namespace berth::plugins
