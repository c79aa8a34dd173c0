#pragma once

// Typed OCI runtime configuration (config.json, runtime-spec 1.0 to 1.1).
//
// ParseSpec() turns the JSON text of a bundle's config.json into a Spec, checking every field's
// type and rejecting what the runtime cannot honour with kInvalidArgument and a message naming
// the field ("process.args: must be a non-empty array of strings"). The JSON library is only
// used inside spec*.cc; everything else in runtime/oci works on these structures.
//
// Optional JSON objects map to std::optional so "absent" and "zero" stay distinct, which the
// cgroup code needs (a memory limit of 0 is not the same as no limit).

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::oci {

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
};

struct Rlimit {
  int resource = 0;  // RLIMIT_* value, from the "RLIMIT_NOFILE"-style name.
  uint64_t hard = 0;
  uint64_t soft = 0;
};

// Capability sets as libcap cap_value_t numbers (parsed from "CAP_SYS_ADMIN" names).
struct Capabilities {
  std::vector<int> bounding;
  std::vector<int> effective;
  std::vector<int> inheritable;
  std::vector<int> permitted;
  std::vector<int> ambient;
};

struct ConsoleSize {
  uint16_t height = 0;
  uint16_t width = 0;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  std::string apparmor_profile;
  std::string selinux_label;
};

struct Root {
  std::string path;  // As written: absolute or relative to the bundle.
  bool readonly = false;
};

// One entry of "mounts", with its options already split into mount(2) flags.
struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
  unsigned long flags = 0;              // MS_* flags to set (MS_BIND, MS_RDONLY, ...).
  unsigned long propagation = 0;        // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (+MS_REC).
  std::string data;                     // Options mount(2) does not know: passed as data.
  bool IsBind() const;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // Seconds.
};

struct Hooks {
  std::vector<Hook> prestart;
  std::vector<Hook> create_runtime;
  std::vector<Hook> create_container;
  std::vector<Hook> start_container;
  std::vector<Hook> poststart;
  std::vector<Hook> poststop;
};

struct Namespace {
  int type = 0;      // CLONE_NEW* flag.
  std::string path;  // Empty: create a new namespace; else join the one at this path.
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct Device {
  char type = 'c';  // 'c', 'b', 'u' or 'p'.
  std::string path;
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

struct DeviceRule {
  bool allow = false;
  char type = 'a';  // 'a', 'c' or 'b'.
  std::optional<int64_t> major;
  std::optional<int64_t> minor;
  std::string access = "rwm";
};

struct MemoryResources {
  std::optional<int64_t> limit;
  std::optional<int64_t> reservation;
  std::optional<int64_t> swap;
  std::optional<int64_t> kernel;
  std::optional<int64_t> kernel_tcp;
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer;
};

struct CpuResources {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;
  std::optional<uint64_t> period;
  std::optional<int64_t> realtime_runtime;
  std::optional<uint64_t> realtime_period;
  std::string cpus;
  std::string mems;
};

struct WeightDevice {
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint16_t> weight;
};

struct ThrottleDevice {
  int64_t major = 0;
  int64_t minor = 0;
  uint64_t rate = 0;
};

struct BlockIoResources {
  std::optional<uint16_t> weight;
  std::vector<WeightDevice> weight_devices;
  std::vector<ThrottleDevice> throttle_read_bps;
  std::vector<ThrottleDevice> throttle_write_bps;
};

struct HugepageLimit {
  std::string page_size;  // "2MB"
  uint64_t limit = 0;
};

struct Resources {
  std::vector<DeviceRule> devices;
  std::optional<MemoryResources> memory;
  std::optional<CpuResources> cpu;
  std::optional<int64_t> pids_limit;
  std::optional<BlockIoResources> block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::map<std::string, std::string> unified;  // cgroup v2 file -> value.
};

struct SeccompArg {
  unsigned index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // "SCMP_CMP_EQ", ...
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;  // "SCMP_ACT_ERRNO", ...
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;
  std::vector<std::string> flags;
  std::vector<SeccompSyscall> syscalls;
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
  std::vector<Device> devices;
  std::string cgroups_path;
  std::optional<Resources> resources;
  std::map<std::string, std::string> sysctl;
  std::optional<Seccomp> seccomp;
  std::string rootfs_propagation;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::string mount_label;

  // Returns the entry for a CLONE_NEW* type, or nullptr if the namespace is not listed.
  const Namespace* FindNamespace(int type) const;
};

struct Spec {
  std::string oci_version;
  Root root;
  std::optional<Process> process;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  Linux linux;
  std::map<std::string, std::string> annotations;
};

// Parses config.json text. kInvalidArgument names the offending field.
absl::StatusOr<Spec> ParseSpec(absl::string_view json_text);

// Whether config.json text may hold the hook list `name` ("poststart", ...): false only when
// the name appears nowhere in it, escapes included, so that start and delete need not parse a
// whole spec (~0.25 ms with Docker's seccomp profile in it) to find no hooks.
bool MayHaveHook(absl::string_view json_text, absl::string_view name);

// Parses a process object alone (`exec --process process.json`).
absl::StatusOr<Process> ParseProcess(absl::string_view json_text);

// Reads and parses `<bundle>/config.json`, then validates it for create (ValidateSpec).
absl::StatusOr<Spec> LoadBundleSpec(const std::string& bundle);

// Checks what parsing alone cannot: a process is present, paths are absolute where the spec
// requires it, namespace paths and mappings are consistent, mounts have destinations.
absl::Status ValidateSpec(const Spec& spec);

// Turns mount options ("ro", "nosuid", "rbind", "mode=755", ...) into `mount`'s flags,
// propagation and data string.
void ParseMountOptions(Mount& mount);

// Capability name ("CAP_CHOWN") to number, or kInvalidArgument.
absl::StatusOr<int> CapabilityFromName(absl::string_view name);

// The default config.json that `berth-runtime spec` writes (runc's template). `rootless`
// adds a user namespace mapping the caller's uid/gid.
std::string DefaultSpecJson(bool rootless);

}  // namespace berth::oci
