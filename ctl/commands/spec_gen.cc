#include "ctl/commands/spec_gen.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ctl/commands/seccomp_default.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"

namespace berth::ctl {
namespace {

using nlohmann::json;

constexpr char kDefaultPath[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Docker's default capability set.
const std::vector<std::string>& DefaultCapabilities() {
  static const auto* caps = new std::vector<std::string>{
      "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",     "CAP_FOWNER",
      "CAP_MKNOD",  "CAP_NET_RAW",      "CAP_SETGID",     "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",     "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",   "CAP_AUDIT_WRITE"};
  return *caps;
}

json Mount(const char* destination, const char* type, const char* source,
           std::vector<std::string> options) {
  return {{"destination", destination}, {"type", type}, {"source", source}, {"options", options}};
}

json DefaultMounts() {
  return json::array({
      Mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      Mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      Mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      Mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      Mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      Mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      Mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
      Mount("/run", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
  });
}

json DefaultLinux(const std::string& ns, const std::string& id) {
  return {
      {"namespaces", {{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}},
                      {{"type", "mount"}}, {{"type", "network"}}}},
      {"maskedPaths", {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                       "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                       "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
                       "/sys/devices/virtual/powercap"}},
      {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                         "/proc/sysrq-trigger"}},
      // Deny every device; the runtime adds the standard ones (null, zero, tty, ...).
      {"resources", {{"devices", {{{"allow", false}, {"access", "rwm"}}}}}},
      {"cgroupsPath", absl::StrCat("/", ns, "/", id)},
      {"seccomp", DefaultSeccompProfile(DefaultCapabilities())},
  };
}

std::vector<std::string> Strings(const json& value) {
  std::vector<std::string> out;
  if (!value.is_array()) return out;
  for (const json& item : value) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

std::string ConfigString(const json& config, const char* key) {
  return config.contains(key) && config[key].is_string() ? config[key].get<std::string>() : "";
}

// uid[:gid] or root; names other than root would need the image's /etc/passwd.
absl::StatusOr<json> ParseUser(const std::string& user) {
  if (user.empty() || user == "root") return json{{"uid", 0}, {"gid", 0}};
  std::vector<std::string> parts = absl::StrSplit(user, ':');
  uint32_t uid = 0, gid = 0;
  if (parts.size() > 2 || !absl::SimpleAtoi(parts[0], &uid) ||
      (parts.size() == 2 && !absl::SimpleAtoi(parts[1], &gid))) {
    return absl::InvalidArgumentError(
        absl::StrCat("user `", user, "`: only numeric uid[:gid] (or root) is supported"));
  }
  return json{{"uid", uid}, {"gid", gid}};
}

// Image env, then the flags' (a later KEY replaces an earlier one).
std::vector<std::string> MergeEnv(std::vector<std::string> base,
                                  const std::vector<std::string>& overrides, bool terminal) {
  auto set = [&base](const std::string& entry) {
    std::string key = entry.substr(0, entry.find('='));
    for (std::string& existing : base) {
      if (existing.substr(0, existing.find('=')) == key) {
        existing = entry;
        return;
      }
    }
    base.push_back(entry);
  };
  if (base.empty()) base.push_back(kDefaultPath);
  if (terminal) set("TERM=xterm");
  for (const std::string& entry : overrides) {
    if (absl::StrContains(entry, "=")) {
      set(entry);
    } else if (const char* value = std::getenv(entry.c_str())) {
      set(absl::StrCat(entry, "=", value));
    }
  }
  return base;
}

absl::Status ApplyResources(const SpecOptions& options, json& linux) {
  if (!options.memory.empty()) {
    ASSIGN_OR_RETURN(int64_t bytes, ParseMemorySize(options.memory));
    linux["resources"]["memory"] = {{"limit", bytes}};
  }
  if (options.cpus < 0) return absl::InvalidArgumentError("--cpus must be positive");
  if (options.cpus > 0) {
    constexpr int64_t kPeriod = 100000;
    linux["resources"]["cpu"] = {{"quota", static_cast<int64_t>(options.cpus * kPeriod)},
                                 {"period", kPeriod}};
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> ParseMemorySize(const std::string& text) {
  std::string lower = absl::AsciiStrToLower(text);
  int64_t multiplier = 1;
  if (!lower.empty() && absl::ascii_isalpha(lower.back())) {
    if (lower.size() > 1 && lower.back() == 'b' && absl::ascii_isalpha(lower[lower.size() - 2])) {
      lower.pop_back();  // "64mb" -> "64m"
    }
    switch (lower.back()) {
      case 'b': multiplier = 1; break;
      case 'k': multiplier = int64_t{1} << 10; break;
      case 'm': multiplier = int64_t{1} << 20; break;
      case 'g': multiplier = int64_t{1} << 30; break;
      case 't': multiplier = int64_t{1} << 40; break;
      default: multiplier = 0;
    }
    lower.pop_back();
  }
  int64_t value = 0;
  if (multiplier == 0 || !absl::SimpleAtoi(lower, &value) || value <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("invalid memory size `", text, "`"));
  }
  return value * multiplier;
}

absl::StatusOr<json> GenerateSpec(const SpecOptions& options) {
  const json& config = options.image_config;
  std::vector<std::string> entrypoint =
      options.entrypoint.empty() ? Strings(config.value("Entrypoint", json())) : options.entrypoint;
  std::vector<std::string> cmd =
      options.command.empty() ? Strings(config.value("Cmd", json())) : options.command;
  std::vector<std::string> args = entrypoint;
  args.insert(args.end(), cmd.begin(), cmd.end());
  if (args.empty()) {
    return absl::InvalidArgumentError("no command specified (the image has no Cmd either)");
  }
  std::string user = options.user.empty() ? ConfigString(config, "User") : options.user;
  ASSIGN_OR_RETURN(json process_user, ParseUser(user));
  std::string cwd = options.workdir.empty() ? ConfigString(config, "WorkingDir") : options.workdir;
  if (cwd.empty()) cwd.push_back('/');  // (not `= "/"`: a g++ 12 -Wrestrict false positive)
  if (cwd[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat("working directory `", cwd, "` is not absolute"));
  }
  const std::vector<std::string>& caps = DefaultCapabilities();
  json process = {
      {"terminal", options.terminal},
      {"user", process_user},
      {"args", args},
      {"env", MergeEnv(Strings(config.value("Env", json())), options.env, options.terminal)},
      {"cwd", cwd},
      {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
      {"noNewPrivileges", true},
  };
  json spec = {{"ociVersion", "1.0.2-dev"},
               {"process", process},
               {"root", {{"path", "rootfs"}}},
               {"hostname", options.hostname.empty() ? options.id.substr(0, 12) : options.hostname},
               {"mounts", DefaultMounts()},
               {"linux", DefaultLinux(options.ns, options.id)}};
  RETURN_IF_ERROR(ApplyResources(options, spec["linux"]));
  if (!options.etc_dir.empty()) {
    for (const char* file : {"hosts", "resolv.conf", "hostname"}) {
      spec["mounts"].push_back({{"destination", absl::StrCat("/etc/", file)},
                                {"type", "bind"},
                                {"source", JoinPath(options.etc_dir, file)},
                                {"options", {"rbind", "rprivate"}}});
    }
  }
  return spec;
}

absl::Status WriteEtcFiles(const std::string& dir, const std::string& hostname) {
  RETURN_IF_ERROR(MkdirAll(dir, 0711));
  std::string hosts = absl::StrCat(
      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
      "ff02::2\tip6-allrouters\n127.0.1.1\t", hostname, "\n");
  std::string resolv;
  absl::StatusOr<std::string> host_resolv = ReadFile("/etc/resolv.conf");
  if (host_resolv.ok()) {
    for (absl::string_view line : absl::StrSplit(*host_resolv, '\n', absl::SkipEmpty())) {
      if (absl::StartsWith(line, "nameserver 127.") || absl::StartsWith(line, "nameserver ::1")) {
        continue;
      }
      absl::StrAppend(&resolv, line, "\n");
    }
  }
  RETURN_IF_ERROR(WriteFileReplace(JoinPath(dir, "hosts"), hosts));
  RETURN_IF_ERROR(WriteFileReplace(JoinPath(dir, "resolv.conf"), resolv));
  return WriteFileReplace(JoinPath(dir, "hostname"), absl::StrCat(hostname, "\n"));
}

absl::StatusOr<json> ExecProcess(const json& container_spec, const std::vector<std::string>& args,
                                 const std::vector<std::string>& env, const std::string& workdir,
                                 const std::string& user, bool terminal) {
  if (!container_spec.contains("process")) {
    return absl::FailedPreconditionError("container spec has no process");
  }
  json process = container_spec["process"];
  process["args"] = args;
  process["terminal"] = terminal;
  process["env"] = MergeEnv(Strings(process.value("env", json())), env, terminal);
  if (!workdir.empty()) process["cwd"] = workdir;
  if (!user.empty()) {
    ASSIGN_OR_RETURN(process["user"], ParseUser(user));
  }
  return process;
}

}  // namespace berth::ctl
