// cgroup v2 manager: one directory in the unified hierarchy. Controllers are enabled in the
// ancestors' cgroup.subtree_control on the way down; OCI v1-style values are converted the way
// runc and crun convert them (shares -> weight, quota/period -> cpu.max).

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
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

// cpu.shares (2..262144) to cpu.weight (1..10000), the formula runc and crun use.
uint64_t SharesToWeight(uint64_t shares) {
  if (shares == 0) {
    return 0;
  }
  return 1 + ((shares - 2) * 9999) / 262142;
}

std::string MaxOr(int64_t v) { return v < 0 ? std::string("max") : absl::StrCat(v); }

class V2Manager final : public CgroupManager {
 public:
  explicit V2Manager(std::string dir) : dir_(std::move(dir)) {}

  absl::Status Create(const Resources* resources) override {
    RETURN_IF_ERROR(EnableControllers());
    bool made = false;
    RETURN_IF_ERROR(MakeDirs(dir_, &made));
    absl::Cleanup undo = [&] {
      if (made) (void)RemoveDir(dir_);
    };
    if (resources != nullptr) {
      RETURN_IF_ERROR(Update(*resources));
    }
    std::move(undo).Cancel();
    return absl::OkStatus();
  }

  absl::Status AddProcess(pid_t pid) override {
    return WriteFile(dir_, "cgroup.procs", absl::StrCat(pid));
  }

  absl::Status Update(const Resources& r) override {
    if (r.memory) {
      const MemoryResources& m = *r.memory;
      if (m.limit) RETURN_IF_ERROR(Write("memory", "memory.max", MaxOr(*m.limit)));
      if (m.reservation) RETURN_IF_ERROR(Write("memory", "memory.low", MaxOr(*m.reservation)));
      if (m.swap) {  // OCI swap is memory+swap; v2 counts swap alone.
        int64_t swap = *m.swap < 0 ? -1 : *m.swap - m.limit.value_or(0);
        RETURN_IF_ERROR(Write("memory", "memory.swap.max", MaxOr(swap < 0 && *m.swap >= 0 ? 0 : swap)));
      }
    }
    if (r.cpu) {
      const CpuResources& c = *r.cpu;
      if (c.shares) RETURN_IF_ERROR(Write("cpu", "cpu.weight", absl::StrCat(SharesToWeight(*c.shares))));
      if (c.quota || c.period) {
        std::string quota = c.quota && *c.quota > 0 ? absl::StrCat(*c.quota) : "max";
        RETURN_IF_ERROR(Write("cpu", "cpu.max", absl::StrCat(quota, " ", c.period.value_or(100000))));
      }
      if (!c.cpus.empty()) RETURN_IF_ERROR(Write("cpuset", "cpuset.cpus", c.cpus));
      if (!c.mems.empty()) RETURN_IF_ERROR(Write("cpuset", "cpuset.mems", c.mems));
    }
    if (r.pids_limit) {
      RETURN_IF_ERROR(Write("pids", "pids.max", *r.pids_limit > 0 ? absl::StrCat(*r.pids_limit) : "max"));
    }
    if (r.block_io && r.block_io->weight) {
      uint64_t w = 1 + (static_cast<uint64_t>(*r.block_io->weight) - 10) * 9999 / 990;
      RETURN_IF_ERROR(Write("io", "io.weight", absl::StrCat("default ", w)));
    }
    for (const HugepageLimit& h : r.hugepage_limits) {
      RETURN_IF_ERROR(Write("hugetlb", absl::StrCat("hugetlb.", h.page_size, ".max"), absl::StrCat(h.limit)));
    }
    for (const auto& [file, value] : r.unified) {
      RETURN_IF_ERROR(WriteFile(dir_, file, value));
    }
    return absl::OkStatus();
  }

  absl::Status Freeze() override { return SetFrozen(true); }
  absl::Status Thaw() override { return SetFrozen(false); }

  absl::StatusOr<bool> IsFrozen() override {
    return ReadKeyValues(dir_, "cgroup.events")["frozen"] == 1;
  }

  absl::StatusOr<std::vector<pid_t>> Pids() override { return ReadProcs(dir_); }

  absl::StatusOr<CgroupStats> Stats() override {
    CgroupStats st;
    std::map<std::string, uint64_t> cpu = ReadKeyValues(dir_, "cpu.stat");
    st.cpu_usage_total_ns = cpu["usage_usec"] * 1000;
    st.cpu_usage_user_ns = cpu["user_usec"] * 1000;
    st.cpu_usage_kernel_ns = cpu["system_usec"] * 1000;
    st.cpu_periods = cpu["nr_periods"];
    st.cpu_throttled_periods = cpu["nr_throttled"];
    st.cpu_throttled_time_ns = cpu["throttled_usec"] * 1000;
    st.memory_usage = ReadUint(dir_, "memory.current").value_or(0);
    st.memory_max_usage = ReadUint(dir_, "memory.peak").value_or(0);
    st.memory_limit = ReadUint(dir_, "memory.max").value_or(0);
    st.memory_swap_usage = ReadUint(dir_, "memory.swap.current").value_or(0);
    st.memory_swap_limit = ReadUint(dir_, "memory.swap.max").value_or(0);
    st.memory_stat = ReadKeyValues(dir_, "memory.stat");
    st.oom_kill = ReadKeyValues(dir_, "memory.events")["oom_kill"];
    st.pids_current = ReadUint(dir_, "pids.current").value_or(0);
    st.pids_limit = ReadUint(dir_, "pids.max").value_or(0);
    return st;
  }

  absl::StatusOr<int> OomEventFd() override {
    std::string path = absl::StrCat(dir_, "/memory.events");
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return ErrnoError(errno, "open", path);
    }
    return fd;
  }

  absl::Status Destroy() override { return RemoveDir(dir_); }

  std::map<std::string, std::string> Paths() const override { return {{"unified", dir_}}; }

 private:
  absl::Status Write(absl::string_view controller, absl::string_view file, absl::string_view value) {
    absl::Status s = WriteFile(dir_, file, value);
    if (absl::IsNotFound(s)) {
      return absl::InvalidArgumentError(
          absl::StrCat("cgroups: controller `", controller, "` is not available on this host"));
    }
    return s;
  }

  // Enables every available controller in each ancestor below the mount point.
  absl::Status EnableControllers() {
    bool inside = false;  // Below the cgroup2 mount point.
    for (size_t pos = dir_.find('/', 1); pos != std::string::npos; pos = dir_.find('/', pos + 1)) {
      std::string level = dir_.substr(0, pos);
      if (!inside) {
        inside = access(absl::StrCat(level, "/cgroup.controllers").c_str(), F_OK) == 0;
        if (!inside) {
          continue;
        }
      } else {
        bool made = false;
        RETURN_IF_ERROR(MakeDirs(level, &made));
      }
      ASSIGN_OR_RETURN(std::string available, ReadFile(level, "cgroup.controllers"));
      for (absl::string_view c : absl::StrSplit(available, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
        (void)WriteFile(level, "cgroup.subtree_control", absl::StrCat("+", c));
      }
    }
    return absl::OkStatus();
  }

  absl::Status SetFrozen(bool frozen) {
    RETURN_IF_ERROR(WriteFile(dir_, "cgroup.freeze", frozen ? "1" : "0"));
    for (int attempt = 0; attempt < 1000; ++attempt) {
      if (ReadKeyValues(dir_, "cgroup.events")["frozen"] == (frozen ? 1u : 0u)) {
        return absl::OkStatus();
      }
      usleep(1000);
    }
    return absl::DeadlineExceededError("freezer: cgroup did not reach the requested state");
  }

  std::string dir_;
};

}  // namespace

std::unique_ptr<CgroupManager> NewV2Manager(std::string dir) {
  return std::make_unique<V2Manager>(std::move(dir));
}

}  // namespace berth::oci::cgroups
