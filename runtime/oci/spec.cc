// Parsing of config.json into the typed Spec: the top level, process, root, mounts and hooks.
// The "linux" object is parsed in spec_linux.cc.

#include "runtime/oci/spec.h"

#include <sched.h>
#include <sys/capability.h>
#include <sys/resource.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "runtime/oci/json_reader.h"
#include "runtime/oci/spec_internal.h"

namespace berth::oci {
namespace {

using json::Get;
using json::Json;

struct RlimitName {
  const char* name;
  int resource;
};
constexpr RlimitName kRlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
};

absl::Status ParseCapList(const Json& obj, const char* key, absl::string_view path,
                          std::vector<int>* out) {
  std::vector<std::string> names;
  RETURN_IF_ERROR(Get(obj, key, path, &names));
  for (const std::string& name : names) {
    absl::StatusOr<int> cap = CapabilityFromName(name);
    if (!cap.ok()) {
      return Annotate(cap.status(), json::Sub(path, key));
    }
    out->push_back(*cap);
  }
  return absl::OkStatus();
}

absl::Status ParseUser(const Json& obj, absl::string_view path, User* user) {
  const Json* u = json::Find(obj, "user");
  if (u == nullptr) {
    return absl::OkStatus();
  }
  std::string p = json::Sub(path, "user");
  RETURN_IF_ERROR(Get(*u, "uid", p, &user->uid));
  RETURN_IF_ERROR(Get(*u, "gid", p, &user->gid));
  RETURN_IF_ERROR(Get(*u, "umask", p, &user->umask));
  return Get(*u, "additionalGids", p, &user->additional_gids);
}

absl::Status ParseCapabilities(const Json& obj, absl::string_view path, Process* process) {
  const Json* c = json::Find(obj, "capabilities");
  if (c == nullptr) {
    return absl::OkStatus();
  }
  std::string p = json::Sub(path, "capabilities");
  Capabilities caps;
  RETURN_IF_ERROR(ParseCapList(*c, "bounding", p, &caps.bounding));
  RETURN_IF_ERROR(ParseCapList(*c, "effective", p, &caps.effective));
  RETURN_IF_ERROR(ParseCapList(*c, "inheritable", p, &caps.inheritable));
  RETURN_IF_ERROR(ParseCapList(*c, "permitted", p, &caps.permitted));
  RETURN_IF_ERROR(ParseCapList(*c, "ambient", p, &caps.ambient));
  process->capabilities = std::move(caps);
  return absl::OkStatus();
}

absl::Status ParseRlimit(const Json& e, const std::string& p, Process* process) {
  std::string type;
  Rlimit limit;
  RETURN_IF_ERROR(Get(e, "type", p, &type));
  RETURN_IF_ERROR(Get(e, "hard", p, &limit.hard));
  RETURN_IF_ERROR(Get(e, "soft", p, &limit.soft));
  for (const RlimitName& r : kRlimits) {
    if (type == r.name) {
      limit.resource = r.resource;
      process->rlimits.push_back(limit);
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("config: `", p, ".type`: unknown rlimit `", type, "`"));
}

absl::Status ParseProcessObject(const Json& obj, absl::string_view path, Process* process) {
  RETURN_IF_ERROR(Get(obj, "terminal", path, &process->terminal));
  if (const Json* cs = json::Find(obj, "consoleSize"); cs != nullptr) {
    ConsoleSize size;
    RETURN_IF_ERROR(Get(*cs, "height", json::Sub(path, "consoleSize"), &size.height));
    RETURN_IF_ERROR(Get(*cs, "width", json::Sub(path, "consoleSize"), &size.width));
    process->console_size = size;
  }
  RETURN_IF_ERROR(ParseUser(obj, path, &process->user));
  RETURN_IF_ERROR(Get(obj, "args", path, &process->args));
  RETURN_IF_ERROR(Get(obj, "env", path, &process->env));
  RETURN_IF_ERROR(Get(obj, "cwd", path, &process->cwd));
  RETURN_IF_ERROR(ParseCapabilities(obj, path, process));
  RETURN_IF_ERROR(json::ForEach(obj, "rlimits", path, [&](const Json& e, const std::string& p) {
    return ParseRlimit(e, p, process);
  }));
  RETURN_IF_ERROR(Get(obj, "noNewPrivileges", path, &process->no_new_privileges));
  RETURN_IF_ERROR(Get(obj, "oomScoreAdj", path, &process->oom_score_adj));
  RETURN_IF_ERROR(Get(obj, "apparmorProfile", path, &process->apparmor_profile));
  RETURN_IF_ERROR(Get(obj, "selinuxLabel", path, &process->selinux_label));
  if (process->args.empty()) {
    return json::TypeError(json::Sub(path, "args"), "a non-empty array of strings");
  }
  if (process->cwd.empty() || process->cwd[0] != '/') {
    return json::TypeError(json::Sub(path, "cwd"), "an absolute path");
  }
  return absl::OkStatus();
}

absl::Status ParseHookList(const Json& obj, const char* key, std::vector<Hook>* out) {
  return json::ForEach(obj, key, "hooks", [&](const Json& e, const std::string& p) {
    Hook hook;
    RETURN_IF_ERROR(Get(e, "path", p, &hook.path));
    RETURN_IF_ERROR(Get(e, "args", p, &hook.args));
    RETURN_IF_ERROR(Get(e, "env", p, &hook.env));
    RETURN_IF_ERROR(Get(e, "timeout", p, &hook.timeout));
    if (hook.path.empty() || hook.path[0] != '/') {
      return json::TypeError(json::Sub(p, "path"), "an absolute path");
    }
    if (hook.timeout && *hook.timeout <= 0) {
      return json::TypeError(json::Sub(p, "timeout"), "a positive number of seconds");
    }
    out->push_back(std::move(hook));
    return absl::OkStatus();
  });
}

absl::Status ParseHooks(const Json& obj, Hooks* hooks) {
  const Json* h = json::Find(obj, "hooks");
  if (h == nullptr) {
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(ParseHookList(*h, "prestart", &hooks->prestart));
  RETURN_IF_ERROR(ParseHookList(*h, "createRuntime", &hooks->create_runtime));
  RETURN_IF_ERROR(ParseHookList(*h, "createContainer", &hooks->create_container));
  RETURN_IF_ERROR(ParseHookList(*h, "startContainer", &hooks->start_container));
  RETURN_IF_ERROR(ParseHookList(*h, "poststart", &hooks->poststart));
  return ParseHookList(*h, "poststop", &hooks->poststop);
}

absl::Status ParseMounts(const Json& obj, std::vector<Mount>* mounts) {
  return json::ForEach(obj, "mounts", "", [&](const Json& e, const std::string& p) {
    Mount m;
    RETURN_IF_ERROR(Get(e, "destination", p, &m.destination));
    RETURN_IF_ERROR(Get(e, "type", p, &m.type));
    RETURN_IF_ERROR(Get(e, "source", p, &m.source));
    RETURN_IF_ERROR(Get(e, "options", p, &m.options));
    if (m.destination.empty() || m.destination[0] != '/') {
      return json::TypeError(json::Sub(p, "destination"), "an absolute path");
    }
    ParseMountOptions(m);
    if (m.type.empty() && !m.IsBind()) {
      return json::TypeError(json::Sub(p, "type"), "set unless the mount is a bind mount");
    }
    mounts->push_back(std::move(m));
    return absl::OkStatus();
  });
}

}  // namespace

absl::StatusOr<int> CapabilityFromName(absl::string_view name) {
  std::string lower(name);
  for (char& c : lower) {
    c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  }
  cap_value_t value;
  if (cap_from_name(lower.c_str(), &value) != 0 || value < 0) {
    return absl::InvalidArgumentError(absl::StrCat("unknown capability `", name, "`"));
  }
  return static_cast<int>(value);
}

absl::StatusOr<Process> ParseProcess(absl::string_view json_text) {
  Json doc;
  RETURN_IF_ERROR(json::ParseObject(json_text, "process", &doc));
  Process process;
  RETURN_IF_ERROR(ParseProcessObject(doc, "process", &process));
  return process;
}

absl::StatusOr<Spec> ParseSpec(absl::string_view json_text) {
  Json doc;
  RETURN_IF_ERROR(json::ParseObject(json_text, "config.json", &doc));
  Spec spec;
  RETURN_IF_ERROR(Get(doc, "ociVersion", "", &spec.oci_version));
  if (spec.oci_version.empty()) {
    return json::TypeError("ociVersion", "a non-empty string");
  }
  if (const Json* root = json::Find(doc, "root"); root != nullptr) {
    RETURN_IF_ERROR(Get(*root, "path", "root", &spec.root.path));
    RETURN_IF_ERROR(Get(*root, "readonly", "root", &spec.root.readonly));
  }
  if (const Json* p = json::Find(doc, "process"); p != nullptr) {
    Process process;
    RETURN_IF_ERROR(ParseProcessObject(*p, "process", &process));
    spec.process = std::move(process);
  }
  RETURN_IF_ERROR(Get(doc, "hostname", "", &spec.hostname));
  RETURN_IF_ERROR(Get(doc, "domainname", "", &spec.domainname));
  RETURN_IF_ERROR(ParseMounts(doc, &spec.mounts));
  RETURN_IF_ERROR(ParseHooks(doc, &spec.hooks));
  RETURN_IF_ERROR(Get(doc, "annotations", "", &spec.annotations));
  if (const Json* l = json::Find(doc, "linux"); l != nullptr) {
    RETURN_IF_ERROR(internal::ParseLinux(*l, &spec.linux));
  }
  return spec;
}

bool MayHaveHook(absl::string_view json_text, absl::string_view name) {
  // A key spelled with \u escapes would not match the plain name: assume it may be there.
  return absl::StrContains(json_text, name) || absl::StrContains(json_text, "\\u");
}

absl::StatusOr<Spec> LoadBundleSpec(const std::string& bundle) {
  std::string path = JoinPath(bundle, "config.json");
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  absl::StatusOr<Spec> spec = ParseSpec(text);
  if (!spec.ok()) {
    return spec.status();
  }
  RETURN_IF_ERROR(ValidateSpec(*spec));
  return spec;
}

}  // namespace berth::oci
