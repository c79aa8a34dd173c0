// Parsing of the "linux" object of config.json: namespaces, id mappings, devices, cgroup
// resources, sysctls, seccomp and the path lists.

#include <sched.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "plugins/base/status_macros.h"
#include "runtime/oci/spec_internal.h"

namespace berth::oci::internal {
namespace {

using json::Get;
using json::Json;

absl::StatusOr<int> NamespaceFlag(absl::string_view type) {
  if (type == "pid") return CLONE_NEWPID;
  if (type == "network") return CLONE_NEWNET;
  if (type == "mount") return CLONE_NEWNS;
  if (type == "ipc") return CLONE_NEWIPC;
  if (type == "uts") return CLONE_NEWUTS;
  if (type == "user") return CLONE_NEWUSER;
  if (type == "cgroup") return CLONE_NEWCGROUP;
  if (type == "time") return CLONE_NEWTIME;
  return absl::InvalidArgumentError(absl::StrCat("unknown namespace type `", type, "`"));
}

absl::Status ParseNamespaces(const Json& obj, Linux* l) {
  return json::ForEach(obj, "namespaces", "linux", [&](const Json& e, const std::string& p) {
    std::string type;
    Namespace ns;
    RETURN_IF_ERROR(Get(e, "type", p, &type));
    RETURN_IF_ERROR(Get(e, "path", p, &ns.path));
    absl::StatusOr<int> flag = NamespaceFlag(type);
    if (!flag.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("config: `", p, ".type`: ", flag.status().message()));
    }
    ns.type = *flag;
    if (l->FindNamespace(ns.type) != nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("config: `", p, "`: duplicate namespace `", type, "`"));
    }
    l->namespaces.push_back(std::move(ns));
    return absl::OkStatus();
  });
}

absl::Status ParseMappings(const Json& obj, const char* key, std::vector<IdMapping>* out) {
  return json::ForEach(obj, key, "linux", [&](const Json& e, const std::string& p) {
    IdMapping m;
    RETURN_IF_ERROR(Get(e, "containerID", p, &m.container_id));
    RETURN_IF_ERROR(Get(e, "hostID", p, &m.host_id));
    RETURN_IF_ERROR(Get(e, "size", p, &m.size));
    out->push_back(m);
    return absl::OkStatus();
  });
}

absl::Status ParseDevices(const Json& obj, Linux* l) {
  return json::ForEach(obj, "devices", "linux", [&](const Json& e, const std::string& p) {
    Device d;
    std::string type;
    RETURN_IF_ERROR(Get(e, "type", p, &type));
    RETURN_IF_ERROR(Get(e, "path", p, &d.path));
    RETURN_IF_ERROR(Get(e, "major", p, &d.major));
    RETURN_IF_ERROR(Get(e, "minor", p, &d.minor));
    RETURN_IF_ERROR(Get(e, "fileMode", p, &d.file_mode));
    RETURN_IF_ERROR(Get(e, "uid", p, &d.uid));
    RETURN_IF_ERROR(Get(e, "gid", p, &d.gid));
    if (type.size() != 1 || std::string_view("cbup").find(type[0]) == std::string_view::npos) {
      return json::TypeError(json::Sub(p, "type"), "one of c, b, u, p");
    }
    if (d.path.empty() || d.path[0] != '/') {
      return json::TypeError(json::Sub(p, "path"), "an absolute path");
    }
    d.type = type[0];
    l->devices.push_back(std::move(d));
    return absl::OkStatus();
  });
}

absl::Status ParseDeviceRules(const Json& obj, absl::string_view path, Resources* r) {
  return json::ForEach(obj, "devices", path, [&](const Json& e, const std::string& p) {
    DeviceRule rule;
    std::string type = "a";
    RETURN_IF_ERROR(Get(e, "allow", p, &rule.allow));
    RETURN_IF_ERROR(Get(e, "type", p, &type));
    RETURN_IF_ERROR(Get(e, "major", p, &rule.major));
    RETURN_IF_ERROR(Get(e, "minor", p, &rule.minor));
    RETURN_IF_ERROR(Get(e, "access", p, &rule.access));
    if (type.size() != 1 || std::string_view("acb").find(type[0]) == std::string_view::npos) {
      return json::TypeError(json::Sub(p, "type"), "one of a, c, b");
    }
    if (rule.access.find_first_not_of("rwm") != std::string::npos) {
      return json::TypeError(json::Sub(p, "access"), "a combination of r, w, m");
    }
    rule.type = type[0];
    r->devices.push_back(rule);
    return absl::OkStatus();
  });
}

absl::Status ParseMemory(const Json& obj, absl::string_view path, Resources* r) {
  const Json* m = json::Find(obj, "memory");
  if (m == nullptr) {
    return absl::OkStatus();
  }
  std::string p = json::Sub(path, "memory");
  MemoryResources mem;
  RETURN_IF_ERROR(Get(*m, "limit", p, &mem.limit));
  RETURN_IF_ERROR(Get(*m, "reservation", p, &mem.reservation));
  RETURN_IF_ERROR(Get(*m, "swap", p, &mem.swap));
  RETURN_IF_ERROR(Get(*m, "kernel", p, &mem.kernel));
  RETURN_IF_ERROR(Get(*m, "kernelTCP", p, &mem.kernel_tcp));
  RETURN_IF_ERROR(Get(*m, "swappiness", p, &mem.swappiness));
  RETURN_IF_ERROR(Get(*m, "disableOOMKiller", p, &mem.disable_oom_killer));
  if (mem.swappiness && *mem.swappiness > 100) {
    return json::TypeError(json::Sub(p, "swappiness"), "between 0 and 100");
  }
  r->memory = mem;
  return absl::OkStatus();
}

absl::Status ParseCpu(const Json& obj, absl::string_view path, Resources* r) {
  const Json* c = json::Find(obj, "cpu");
  if (c == nullptr) {
    return absl::OkStatus();
  }
  std::string p = json::Sub(path, "cpu");
  CpuResources cpu;
  RETURN_IF_ERROR(Get(*c, "shares", p, &cpu.shares));
  RETURN_IF_ERROR(Get(*c, "quota", p, &cpu.quota));
  RETURN_IF_ERROR(Get(*c, "period", p, &cpu.period));
  RETURN_IF_ERROR(Get(*c, "realtimeRuntime", p, &cpu.realtime_runtime));
  RETURN_IF_ERROR(Get(*c, "realtimePeriod", p, &cpu.realtime_period));
  RETURN_IF_ERROR(Get(*c, "cpus", p, &cpu.cpus));
  RETURN_IF_ERROR(Get(*c, "mems", p, &cpu.mems));
  r->cpu = cpu;
  return absl::OkStatus();
}

absl::Status ParseThrottle(const Json& obj, const char* key, absl::string_view path,
                           std::vector<ThrottleDevice>* out) {
  return json::ForEach(obj, key, path, [&](const Json& e, const std::string& p) {
    ThrottleDevice t;
    RETURN_IF_ERROR(Get(e, "major", p, &t.major));
    RETURN_IF_ERROR(Get(e, "minor", p, &t.minor));
    RETURN_IF_ERROR(Get(e, "rate", p, &t.rate));
    out->push_back(t);
    return absl::OkStatus();
  });
}

absl::Status ParseBlockIo(const Json& obj, absl::string_view path, Resources* r) {
  const Json* b = json::Find(obj, "blockIO");
  if (b == nullptr) {
    return absl::OkStatus();
  }
  std::string p = json::Sub(path, "blockIO");
  BlockIoResources io;
  RETURN_IF_ERROR(Get(*b, "weight", p, &io.weight));
  RETURN_IF_ERROR(json::ForEach(*b, "weightDevice", p, [&](const Json& e, const std::string& ep) {
    WeightDevice w;
    RETURN_IF_ERROR(Get(e, "major", ep, &w.major));
    RETURN_IF_ERROR(Get(e, "minor", ep, &w.minor));
    RETURN_IF_ERROR(Get(e, "weight", ep, &w.weight));
    io.weight_devices.push_back(w);
    return absl::OkStatus();
  }));
  RETURN_IF_ERROR(ParseThrottle(*b, "throttleReadBpsDevice", p, &io.throttle_read_bps));
  RETURN_IF_ERROR(ParseThrottle(*b, "throttleWriteBpsDevice", p, &io.throttle_write_bps));
  r->block_io = std::move(io);
  return absl::OkStatus();
}

absl::Status ParseSeccompSyscall(const Json& e, const std::string& p, Seccomp* s) {
  SeccompSyscall sc;
  RETURN_IF_ERROR(Get(e, "names", p, &sc.names));
  RETURN_IF_ERROR(Get(e, "action", p, &sc.action));
  RETURN_IF_ERROR(Get(e, "errnoRet", p, &sc.errno_ret));
  RETURN_IF_ERROR(json::ForEach(e, "args", p, [&](const Json& a, const std::string& ap) {
    SeccompArg arg;
    RETURN_IF_ERROR(Get(a, "index", ap, &arg.index));
    RETURN_IF_ERROR(Get(a, "value", ap, &arg.value));
    RETURN_IF_ERROR(Get(a, "valueTwo", ap, &arg.value_two));
    RETURN_IF_ERROR(Get(a, "op", ap, &arg.op));
    if (arg.index > 5) {
      return json::TypeError(json::Sub(ap, "index"), "between 0 and 5");
    }
    sc.args.push_back(arg);
    return absl::OkStatus();
  }));
  if (sc.names.empty()) {
    return json::TypeError(json::Sub(p, "names"), "a non-empty array of strings");
  }
  if (sc.action.empty()) {
    return json::TypeError(json::Sub(p, "action"), "a non-empty string");
  }
  s->syscalls.push_back(std::move(sc));
  return absl::OkStatus();
}

absl::Status ParseSeccomp(const Json& obj, Linux* l) {
  const Json* sj = json::Find(obj, "seccomp");
  if (sj == nullptr) {
    return absl::OkStatus();
  }
  const std::string p = "linux.seccomp";
  Seccomp s;
  RETURN_IF_ERROR(Get(*sj, "defaultAction", p, &s.default_action));
  RETURN_IF_ERROR(Get(*sj, "defaultErrnoRet", p, &s.default_errno_ret));
  RETURN_IF_ERROR(Get(*sj, "architectures", p, &s.architectures));
  RETURN_IF_ERROR(Get(*sj, "flags", p, &s.flags));
  RETURN_IF_ERROR(json::ForEach(*sj, "syscalls", p, [&](const Json& e, const std::string& ep) {
    return ParseSeccompSyscall(e, ep, &s);
  }));
  if (s.default_action.empty()) {
    return json::TypeError(json::Sub(p, "defaultAction"), "a non-empty string");
  }
  l->seccomp = std::move(s);
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseResources(const Json& obj, absl::string_view path, Resources* r) {
  RETURN_IF_ERROR(ParseDeviceRules(obj, path, r));
  RETURN_IF_ERROR(ParseMemory(obj, path, r));
  RETURN_IF_ERROR(ParseCpu(obj, path, r));
  if (const Json* pids = json::Find(obj, "pids"); pids != nullptr) {
    int64_t limit = 0;
    RETURN_IF_ERROR(Get(*pids, "limit", json::Sub(path, "pids"), &limit));
    r->pids_limit = limit;
  }
  RETURN_IF_ERROR(ParseBlockIo(obj, path, r));
  RETURN_IF_ERROR(json::ForEach(obj, "hugepageLimits", path, [&](const Json& e, const std::string& p) {
    HugepageLimit h;
    RETURN_IF_ERROR(Get(e, "pageSize", p, &h.page_size));
    RETURN_IF_ERROR(Get(e, "limit", p, &h.limit));
    r->hugepage_limits.push_back(h);
    return absl::OkStatus();
  }));
  return Get(obj, "unified", path, &r->unified);
}

absl::Status ParseLinux(const Json& obj, Linux* l) {
  RETURN_IF_ERROR(ParseNamespaces(obj, l));
  RETURN_IF_ERROR(ParseMappings(obj, "uidMappings", &l->uid_mappings));
  RETURN_IF_ERROR(ParseMappings(obj, "gidMappings", &l->gid_mappings));
  RETURN_IF_ERROR(ParseDevices(obj, l));
  RETURN_IF_ERROR(Get(obj, "cgroupsPath", "linux", &l->cgroups_path));
  if (const Json* r = json::Find(obj, "resources"); r != nullptr) {
    Resources resources;
    RETURN_IF_ERROR(ParseResources(*r, "linux.resources", &resources));
    l->resources = std::move(resources);
  }
  RETURN_IF_ERROR(Get(obj, "sysctl", "linux", &l->sysctl));
  RETURN_IF_ERROR(ParseSeccomp(obj, l));
  RETURN_IF_ERROR(Get(obj, "rootfsPropagation", "linux", &l->rootfs_propagation));
  RETURN_IF_ERROR(Get(obj, "maskedPaths", "linux", &l->masked_paths));
  RETURN_IF_ERROR(Get(obj, "readonlyPaths", "linux", &l->readonly_paths));
  return Get(obj, "mountLabel", "linux", &l->mount_label);
}

}  // namespace berth::oci::internal
