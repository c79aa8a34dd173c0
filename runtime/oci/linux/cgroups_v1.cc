// cgroup v1 manager (one directory per mounted controller), also used on hybrid hosts where it
// additionally manages the container's directory in the cgroup2 mount.

#include <sys/eventfd.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <string>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"
#include "runtime/oci/linux/cgroups_internal.h"

namespace berth::oci::cgroups {
namespace {

// Devices every container may use (runc 1.1's AllowedDevices), appended after the spec's rules.
// Not the host's /dev/console (5:1): runc dropped it as unsafe (1.0.0-rc94).
constexpr const char* kDefaultDeviceRules[] = {
    "c *:* m",   "b *:* m",   "c 1:3 rwm",   "c 1:8 rwm", "c 1:7 rwm",   "c 5:0 rwm",
    "c 1:5 rwm", "c 1:9 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm",
};

std::string DeviceRuleText(char type, std::optional<int64_t> major, std::optional<int64_t> minor,
                           const std::string& access) {
  if (type == 'a') {
    return absl::StrCat("a *:* ", access);
  }
  auto num = [](std::optional<int64_t> v) {
    return v && *v >= 0 ? absl::StrCat(*v) : std::string("*");
  };
  return absl::StrCat(std::string(1, type), " ", num(major), ":", num(minor), " ", access);
}

class V1Manager final : public CgroupManager {
 public:
  V1Manager(std::map<std::string, std::string> dirs, std::string unified)
      : dirs_(std::move(dirs)), unified_(std::move(unified)) {}

  absl::Status Create(const Resources* resources) override {
    std::vector<std::string> created;
    absl::Cleanup undo = [&] {
      for (auto it = created.rbegin(); it != created.rend(); ++it) {
        (void)RemoveDir(*it);
      }
    };
    if (resources != nullptr) {
      RETURN_IF_ERROR(CheckControllers(*resources));
    }
    for (const auto& [key, dir] : dirs_) {
      bool made = false;
      RETURN_IF_ERROR(MakeDirs(dir, &made));
      if (made) {
        created.push_back(dir);
      }
      if (key == "cpuset" || absl::StrContains(key, "cpuset")) {
        RETURN_IF_ERROR(InheritCpuset(dir));
      }
    }
    if (!unified_.empty()) {
      bool made = false;
      if (MakeDirs(unified_, &made).ok()) {
        if (made) {
          created.push_back(unified_);
        }
      } else {
        unified_.clear();  // Not writable here: the v1 controllers still confine the container.
      }
    }
    if (resources != nullptr) {
      RETURN_IF_ERROR(Update(*resources));
      RETURN_IF_ERROR(ApplyDevices(*resources));
    }
    std::move(undo).Cancel();
    return absl::OkStatus();
  }

  absl::Status AddProcess(pid_t pid) override {
    std::string text = absl::StrCat(pid);
    for (const auto& [key, dir] : dirs_) {
      RETURN_IF_ERROR(WriteFile(dir, "cgroup.procs", text));
    }
    if (!unified_.empty()) {
      RETURN_IF_ERROR(WriteFile(unified_, "cgroup.procs", text));
    }
    return absl::OkStatus();
  }

  absl::Status Update(const Resources& r) override {
    RETURN_IF_ERROR(CheckControllers(r));
    if (r.memory) {
      RETURN_IF_ERROR(ApplyMemory(*r.memory));
    }
    if (r.cpu) {
      RETURN_IF_ERROR(ApplyCpu(*r.cpu));
    }
    if (r.pids_limit) {
      RETURN_IF_ERROR(WriteFile(Dir("pids"), "pids.max",
                                *r.pids_limit > 0 ? absl::StrCat(*r.pids_limit) : "max"));
    }
    if (r.block_io) {
      RETURN_IF_ERROR(ApplyBlockIo(*r.block_io));
    }
    for (const HugepageLimit& h : r.hugepage_limits) {
      if (!Dir("hugetlb").empty()) {
        RETURN_IF_ERROR(WriteFile(Dir("hugetlb"), absl::StrCat("hugetlb.", h.page_size, ".limit_in_bytes"),
                                  absl::StrCat(h.limit)));
      } else {
        RETURN_IF_ERROR(WriteFile(unified_, absl::StrCat("hugetlb.", h.page_size, ".max"),
                                  absl::StrCat(h.limit)));
      }
    }
    for (const auto& [file, value] : r.unified) {
      RETURN_IF_ERROR(WriteFile(unified_, file, value));
    }
    return absl::OkStatus();
  }

  absl::Status Freeze() override { return SetFreezer("FROZEN"); }
  absl::Status Thaw() override { return SetFreezer("THAWED"); }

  absl::StatusOr<bool> IsFrozen() override {
    if (Dir("freezer").empty()) {
      return false;
    }
    ASSIGN_OR_RETURN(std::string state, ReadFile(Dir("freezer"), "freezer.state"));
    return absl::StripAsciiWhitespace(state) != "THAWED";
  }

  absl::StatusOr<std::vector<pid_t>> Pids() override {
    for (const char* c : {"pids", "memory", "freezer", "devices"}) {
      if (!Dir(c).empty()) {
        return ReadProcs(Dir(c));
      }
    }
    if (dirs_.empty()) {
      return std::vector<pid_t>{};
    }
    return ReadProcs(dirs_.begin()->second);
  }

  absl::StatusOr<CgroupStats> Stats() override;

  absl::StatusOr<int> OomEventFd() override {
    std::string dir = Dir("memory");
    if (dir.empty()) {
      return absl::FailedPreconditionError("oom events: no memory cgroup");
    }
    UniqueFd oom(open(absl::StrCat(dir, "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC));
    if (!oom.valid()) {
      return ErrnoError(errno, "open", absl::StrCat(dir, "/memory.oom_control"));
    }
    UniqueFd efd(eventfd(0, EFD_CLOEXEC));
    if (!efd.valid()) {
      return ErrnoError(errno, "eventfd");
    }
    RETURN_IF_ERROR(WriteFile(dir, "cgroup.event_control", absl::StrCat(efd.get(), " ", oom.get())));
    return efd.Release();
  }

  absl::Status Destroy() override {
    absl::Status result;
    for (const auto& [key, dir] : dirs_) {
      absl::Status s = RemoveDir(dir, /*wait=*/result.ok());
      if (!s.ok() && result.ok()) {
        result = s;
      }
    }
    if (!unified_.empty()) {
      absl::Status s = RemoveDir(unified_, /*wait=*/result.ok());
      if (!s.ok() && result.ok()) {
        result = s;
      }
    }
    return result;
  }

  std::map<std::string, std::string> Paths() const override {
    std::map<std::string, std::string> paths = dirs_;
    if (!unified_.empty()) {
      paths["unified"] = unified_;
    }
    return paths;
  }

 private:
  // The directory of the hierarchy holding `controller` ("" if not mounted).
  std::string Dir(absl::string_view controller) const {
    for (const auto& [key, dir] : dirs_) {
      for (absl::string_view c : absl::StrSplit(key, ',')) {
        if (c == controller) {
          return dir;
        }
      }
    }
    return "";
  }

  absl::Status Require(absl::string_view controller) const {
    if (Dir(controller).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cgroups: controller `", controller, "` is not available on this host"));
    }
    return absl::OkStatus();
  }

  absl::Status CheckControllers(const Resources& r) const {
    if (r.memory) RETURN_IF_ERROR(Require("memory"));
    if (r.cpu && (r.cpu->shares || r.cpu->quota || r.cpu->period || r.cpu->realtime_period ||
                  r.cpu->realtime_runtime)) {
      RETURN_IF_ERROR(Require("cpu"));
    }
    if (r.cpu && (!r.cpu->cpus.empty() || !r.cpu->mems.empty())) RETURN_IF_ERROR(Require("cpuset"));
    if (r.pids_limit) RETURN_IF_ERROR(Require("pids"));
    if (r.block_io) RETURN_IF_ERROR(Require("blkio"));
    if ((!r.unified.empty() || !r.hugepage_limits.empty()) && unified_.empty() &&
        Dir("hugetlb").empty()) {
      return absl::InvalidArgumentError("cgroups: no cgroup2 hierarchy for `unified` resources");
    }
    return absl::OkStatus();
  }

  absl::Status InheritCpuset(const std::string& dir) {
    for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
      ASSIGN_OR_RETURN(std::string value, ReadFile(dir, file));
      if (!absl::StripAsciiWhitespace(value).empty()) {
        continue;
      }
      std::string parent = dir.substr(0, dir.rfind('/'));
      RETURN_IF_ERROR(InheritCpuset(parent));
      ASSIGN_OR_RETURN(std::string from_parent, ReadFile(parent, file));
      RETURN_IF_ERROR(WriteFile(dir, file, absl::StripAsciiWhitespace(from_parent)));
    }
    return absl::OkStatus();
  }

  absl::Status ApplyMemory(const MemoryResources& m) {
    std::string dir = Dir("memory");
    auto value = [](int64_t v) { return absl::StrCat(v); };
    if (m.limit && m.swap) {
      absl::Status s = WriteFile(dir, "memory.limit_in_bytes", value(*m.limit));
      if (s.ok()) {
        RETURN_IF_ERROR(WriteFile(dir, "memory.memsw.limit_in_bytes", value(*m.swap)));
      } else {  // Raising: the combined limit must grow first.
        RETURN_IF_ERROR(WriteFile(dir, "memory.memsw.limit_in_bytes", value(*m.swap)));
        RETURN_IF_ERROR(WriteFile(dir, "memory.limit_in_bytes", value(*m.limit)));
      }
    } else if (m.limit) {
      RETURN_IF_ERROR(WriteFile(dir, "memory.limit_in_bytes", value(*m.limit)));
    } else if (m.swap) {
      RETURN_IF_ERROR(WriteFile(dir, "memory.memsw.limit_in_bytes", value(*m.swap)));
    }
    if (m.reservation) {
      RETURN_IF_ERROR(WriteFile(dir, "memory.soft_limit_in_bytes", value(*m.reservation)));
    }
    if (m.kernel_tcp) {
      RETURN_IF_ERROR(WriteFile(dir, "memory.kmem.tcp.limit_in_bytes", value(*m.kernel_tcp)));
    }
    if (m.swappiness) {
      RETURN_IF_ERROR(WriteFile(dir, "memory.swappiness", absl::StrCat(*m.swappiness)));
    }
    if (m.disable_oom_killer.value_or(false)) {
      RETURN_IF_ERROR(WriteFile(dir, "memory.oom_control", "1"));
    }
    return absl::OkStatus();
  }

  absl::Status ApplyCpu(const CpuResources& c) {
    std::string dir = Dir("cpu");
    if (c.shares) RETURN_IF_ERROR(WriteFile(dir, "cpu.shares", absl::StrCat(*c.shares)));
    if (c.period) RETURN_IF_ERROR(WriteFile(dir, "cpu.cfs_period_us", absl::StrCat(*c.period)));
    if (c.quota) RETURN_IF_ERROR(WriteFile(dir, "cpu.cfs_quota_us", absl::StrCat(*c.quota)));
    if (c.realtime_period) {
      RETURN_IF_ERROR(WriteFile(dir, "cpu.rt_period_us", absl::StrCat(*c.realtime_period)));
    }
    if (c.realtime_runtime) {
      RETURN_IF_ERROR(WriteFile(dir, "cpu.rt_runtime_us", absl::StrCat(*c.realtime_runtime)));
    }
    if (!c.cpus.empty()) RETURN_IF_ERROR(WriteFile(Dir("cpuset"), "cpuset.cpus", c.cpus));
    if (!c.mems.empty()) RETURN_IF_ERROR(WriteFile(Dir("cpuset"), "cpuset.mems", c.mems));
    return absl::OkStatus();
  }

  absl::Status ApplyBlockIo(const BlockIoResources& b) {
    std::string dir = Dir("blkio");
    if (b.weight) {
      absl::Status s = WriteFile(dir, "blkio.weight", absl::StrCat(*b.weight));
      if (absl::IsNotFound(s)) {
        s = WriteFile(dir, "blkio.bfq.weight", absl::StrCat(*b.weight));
      }
      RETURN_IF_ERROR(s);
    }
    for (const ThrottleDevice& t : b.throttle_read_bps) {
      RETURN_IF_ERROR(WriteFile(dir, "blkio.throttle.read_bps_device",
                                absl::StrCat(t.major, ":", t.minor, " ", t.rate)));
    }
    for (const ThrottleDevice& t : b.throttle_write_bps) {
      RETURN_IF_ERROR(WriteFile(dir, "blkio.throttle.write_bps_device",
                                absl::StrCat(t.major, ":", t.minor, " ", t.rate)));
    }
    return absl::OkStatus();
  }

  absl::Status ApplyDevices(const Resources& r) {
    std::string dir = Dir("devices");
    if (dir.empty() || r.devices.empty()) {
      return absl::OkStatus();
    }
    // An allow rule written again since the last deny changes nothing: Docker's and ctr's
    // specs carry most of the defaults, and every write costs a syscall round in the kernel.
    std::set<std::string> allowed;
    auto allow = [&](const std::string& text) -> absl::Status {
      if (!allowed.insert(text).second) return absl::OkStatus();
      return WriteFile(dir, "devices.allow", text);
    };
    for (const DeviceRule& rule : r.devices) {
      std::string text = DeviceRuleText(rule.type, rule.major, rule.minor, rule.access);
      if (rule.allow) {
        RETURN_IF_ERROR(allow(text));
      } else {
        RETURN_IF_ERROR(WriteFile(dir, "devices.deny", text));
        allowed.clear();
      }
    }
    for (const char* rule : kDefaultDeviceRules) RETURN_IF_ERROR(allow(rule));
    return absl::OkStatus();
  }

  absl::Status SetFreezer(absl::string_view state) {
    std::string dir = Dir("freezer");
    if (dir.empty()) {
      return absl::FailedPreconditionError("cgroups: the freezer controller is not available");
    }
    for (int attempt = 0; attempt < 1000; ++attempt) {
      RETURN_IF_ERROR(WriteFile(dir, "freezer.state", state));
      ASSIGN_OR_RETURN(std::string now, ReadFile(dir, "freezer.state"));
      if (absl::StripAsciiWhitespace(now) == state) {
        return absl::OkStatus();
      }
      usleep(1000);
    }
    return absl::DeadlineExceededError(absl::StrCat("freezer: cgroup did not become ", state));
  }

  std::map<std::string, std::string> dirs_;
  std::string unified_;
};

absl::StatusOr<CgroupStats> V1Manager::Stats() {
  CgroupStats st;
  if (std::string d = Dir("cpuacct"); !d.empty()) {
    st.cpu_usage_total_ns = ReadUint(d, "cpuacct.usage").value_or(0);
    std::map<std::string, uint64_t> ticks = ReadKeyValues(d, "cpuacct.stat");
    const uint64_t ns_per_tick = 1'000'000'000 / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
    st.cpu_usage_user_ns = ticks["user"] * ns_per_tick;
    st.cpu_usage_kernel_ns = ticks["system"] * ns_per_tick;
    if (absl::StatusOr<std::string> per = ReadFile(d, "cpuacct.usage_percpu"); per.ok()) {
      for (absl::string_view v : absl::StrSplit(*per, ' ', absl::SkipWhitespace())) {
        uint64_t n = 0;
        if (absl::SimpleAtoi(v, &n)) st.cpu_usage_percpu_ns.push_back(n);
      }
    }
  }
  if (std::string d = Dir("cpu"); !d.empty()) {
    std::map<std::string, uint64_t> cpu = ReadKeyValues(d, "cpu.stat");
    st.cpu_periods = cpu["nr_periods"];
    st.cpu_throttled_periods = cpu["nr_throttled"];
    st.cpu_throttled_time_ns = cpu["throttled_time"];
  }
  if (std::string d = Dir("memory"); !d.empty()) {
    st.memory_usage = ReadUint(d, "memory.usage_in_bytes").value_or(0);
    st.memory_max_usage = ReadUint(d, "memory.max_usage_in_bytes").value_or(0);
    st.memory_limit = ReadUint(d, "memory.limit_in_bytes").value_or(0);
    st.memory_failcnt = ReadUint(d, "memory.failcnt").value_or(0);
    st.memory_swap_usage = ReadUint(d, "memory.memsw.usage_in_bytes").value_or(0);
    st.memory_swap_limit = ReadUint(d, "memory.memsw.limit_in_bytes").value_or(0);
    st.memory_stat = ReadKeyValues(d, "memory.stat");
    st.oom_kill = ReadKeyValues(d, "memory.oom_control")["oom_kill"];
  }
  if (std::string d = Dir("pids"); !d.empty()) {
    st.pids_current = ReadUint(d, "pids.current").value_or(0);
    st.pids_limit = ReadUint(d, "pids.max").value_or(0);
  }
  return st;
}

}  // namespace

std::unique_ptr<CgroupManager> NewV1Manager(std::map<std::string, std::string> dirs,
                                            std::string unified_dir) {
  return std::make_unique<V1Manager>(std::move(dirs), std::move(unified_dir));
}

}  // namespace berth::oci::cgroups
