// Mount option parsing and whole-spec validation.

#include <sched.h>
#include <sys/mount.h>

#include "absl/strings/str_cat.h"
#include "runtime/oci/spec.h"

namespace berth::oci {
namespace {

struct MountFlag {
  const char* name;
  bool clear;
  unsigned long flag;
};

constexpr MountFlag kMountFlags[] = {
    {"async", true, MS_SYNCHRONOUS},  {"atime", true, MS_NOATIME},
    {"bind", false, MS_BIND},          {"defaults", false, 0},
    {"dev", true, MS_NODEV},           {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},    {"exec", true, MS_NOEXEC},
    {"mand", false, MS_MANDLOCK},      {"noatime", false, MS_NOATIME},
    {"nodev", false, MS_NODEV},        {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},      {"nomand", true, MS_MANDLOCK},
    {"norelatime", true, MS_RELATIME}, {"nostrictatime", true, MS_STRICTATIME},
    {"nosuid", false, MS_NOSUID},      {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},  {"remount", false, MS_REMOUNT},
    {"ro", false, MS_RDONLY},          {"rw", true, MS_RDONLY},
    {"strictatime", false, MS_STRICTATIME}, {"suid", true, MS_NOSUID},
    {"sync", false, MS_SYNCHRONOUS},
};

struct PropagationFlag {
  const char* name;
  unsigned long flag;
};

constexpr PropagationFlag kPropagation[] = {
    {"private", MS_PRIVATE},     {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},       {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},         {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

// Options that select runtime behaviour and never reach mount(2).
constexpr const char* kIgnoredOptions[] = {"tmpcopyup", "idmap", "ridmap", "copy-symlink"};

bool ApplyFlagOption(const std::string& opt, Mount& mount) {
  for (const MountFlag& f : kMountFlags) {
    if (opt == f.name) {
      if (f.clear) {
        mount.flags &= ~f.flag;
      } else {
        mount.flags |= f.flag;
      }
      return true;
    }
  }
  for (const PropagationFlag& p : kPropagation) {
    if (opt == p.name) {
      mount.propagation = p.flag;
      return true;
    }
  }
  for (const char* ignored : kIgnoredOptions) {
    if (opt == ignored) {
      return true;
    }
  }
  return false;
}

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("config: ", what));
}

absl::Status ValidateNamespaces(const Spec& spec) {
  const Linux& l = spec.linux;
  const Namespace* user = l.FindNamespace(CLONE_NEWUSER);
  bool has_maps = !l.uid_mappings.empty() || !l.gid_mappings.empty();
  if (user == nullptr && has_maps) {
    return Invalid("uid/gid mappings are set without a user namespace");
  }
  if (user != nullptr && user->path.empty() &&
      (l.uid_mappings.empty() || l.gid_mappings.empty())) {
    return Invalid("a new user namespace needs both uidMappings and gidMappings");
  }
  const Namespace* uts = l.FindNamespace(CLONE_NEWUTS);
  if ((!spec.hostname.empty() || !spec.domainname.empty()) && (uts == nullptr || !uts->path.empty())) {
    return Invalid("cannot set hostname or domainname without a private UTS namespace");
  }
  for (const Namespace& ns : l.namespaces) {
    if (!ns.path.empty() && ns.path[0] != '/') {
      return Invalid(absl::StrCat("namespace path `", ns.path, "` must be absolute"));
    }
  }
  if (l.FindNamespace(CLONE_NEWNS) == nullptr) {
    return Invalid("a mount namespace is required");
  }
  return absl::OkStatus();
}

}  // namespace

bool Mount::IsBind() const { return (flags & MS_BIND) != 0 || type == "bind"; }

const Namespace* Linux::FindNamespace(int type) const {
  for (const Namespace& ns : namespaces) {
    if (ns.type == type) {
      return &ns;
    }
  }
  return nullptr;
}

void ParseMountOptions(Mount& mount) {
  mount.flags = 0;
  mount.propagation = 0;
  mount.data.clear();
  for (const std::string& opt : mount.options) {
    if (ApplyFlagOption(opt, mount)) {
      continue;
    }
    if (!mount.data.empty()) {
      mount.data.push_back(',');
    }
    mount.data.append(opt);
  }
  if (mount.type == "bind") {
    mount.flags |= MS_BIND;
  }
}

absl::Status ValidateSpec(const Spec& spec) {
  if (!spec.process.has_value()) {
    return Invalid("`process` is required to create a container");
  }
  if (spec.root.path.empty()) {
    return Invalid("`root.path` is required");
  }
  if (absl::Status s = ValidateNamespaces(spec); !s.ok()) {
    return s;
  }
  const std::string& prop = spec.linux.rootfs_propagation;
  if (!prop.empty() && prop != "private" && prop != "rprivate" && prop != "slave" &&
      prop != "rslave" && prop != "shared" && prop != "rshared" && prop != "unbindable" &&
      prop != "runbindable") {
    return Invalid(absl::StrCat("unknown rootfsPropagation `", prop, "`"));
  }
  for (const std::string& p : spec.linux.masked_paths) {
    if (p.empty() || p[0] != '/') {
      return Invalid(absl::StrCat("masked path `", p, "` must be absolute"));
    }
  }
  for (const std::string& p : spec.linux.readonly_paths) {
    if (p.empty() || p[0] != '/') {
      return Invalid(absl::StrCat("readonly path `", p, "` must be absolute"));
    }
  }
  return absl::OkStatus();
}

}  // namespace berth::oci
