// Host cgroup layout detection, file helpers and the choice of manager.

#include "runtime/oci/linux/cgroups.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"
#include "runtime/oci/linux/cgroups_internal.h"

namespace berth::oci {
namespace cgroups {
namespace {

// mountinfo: "id parent maj:min root mount-point opts - fstype source super-opts".
void ParseMountinfoLine(absl::string_view line, Layout* layout) {
  std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  size_t dash = 0;
  while (dash < parts.size() && parts[dash] != "-") {
    ++dash;
  }
  if (dash + 3 >= parts.size() + 0 || dash < 5) {
    return;
  }
  absl::string_view fstype = parts[dash + 1];
  if (fstype != "cgroup" && fstype != "cgroup2") {
    return;
  }
  Hierarchy h;
  h.root = std::string(parts[3]);
  h.mount_point = std::string(parts[4]);
  h.v2 = fstype == "cgroup2";
  if (!h.v2 && dash + 3 < parts.size()) {
    for (absl::string_view opt : absl::StrSplit(parts[dash + 3], ',')) {
      if (opt == "rw" || opt == "ro" || opt == "clone_children" || opt == "noprefix" ||
          absl::StartsWith(opt, "release_agent=") || opt == "xattr" || opt == "cpuset_v2_mode") {
        continue;
      }
      h.controllers.emplace_back(opt);
    }
  }
  layout->hierarchies.push_back(std::move(h));
}

}  // namespace

absl::StatusOr<Layout> ReadLayout() {
  Layout layout;
  ASSIGN_OR_RETURN(std::string mountinfo, berth::ReadFile("/proc/self/mountinfo"));
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n', absl::SkipEmpty())) {
    ParseMountinfoLine(line, &layout);
  }
  ASSIGN_OR_RETURN(std::string self, berth::ReadFile("/proc/self/cgroup"));
  for (absl::string_view line : absl::StrSplit(self, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() == 3) {
      layout.self[std::string(f[1])] = std::string(f[2]);
    }
  }
  bool any_v1 = false;
  for (const Hierarchy& h : layout.hierarchies) {
    any_v1 = any_v1 || !h.v2;
  }
  layout.pure_v2 = !any_v1;
  return layout;
}

absl::Status WriteFile(const std::string& dir, absl::string_view file, absl::string_view value) {
  std::string path = absl::StrCat(dir, "/", file);
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return ErrnoError(errno, "open", path);
  }
  if (write(fd.get(), value.data(), value.size()) < 0) {
    return ErrnoError(errno, absl::StrCat("write `", value, "` to"), path);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& dir, absl::string_view file) {
  return berth::ReadFile(absl::StrCat(dir, "/", file));
}

absl::StatusOr<uint64_t> ReadUint(const std::string& dir, absl::string_view file) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(dir, file));
  absl::string_view v = absl::StripAsciiWhitespace(text);
  if (v == "max") {
    return 0;
  }
  uint64_t value = 0;
  if (!absl::SimpleAtoi(v, &value)) {
    return absl::DataLossError(absl::StrCat("parse `", dir, "/", file, "`: `", v, "`"));
  }
  return value;
}

std::map<std::string, uint64_t> ReadKeyValues(const std::string& dir, absl::string_view file) {
  std::map<std::string, uint64_t> out;
  absl::StatusOr<std::string> text = ReadFile(dir, file);
  if (!text.ok()) {
    return out;
  }
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, ' ');
    uint64_t value = 0;
    if (absl::SimpleAtoi(kv.second, &value)) {
      out[std::string(kv.first)] = value;
    }
  }
  return out;
}

absl::StatusOr<std::vector<pid_t>> ReadProcs(const std::string& dir) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(dir, "cgroup.procs"));
  std::vector<pid_t> pids;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    pid_t pid = 0;
    if (absl::SimpleAtoi(line, &pid)) {
      pids.push_back(pid);
    }
  }
  return pids;
}

absl::Status MakeDirs(const std::string& path, bool* created) {
  *created = false;
  if (mkdir(path.c_str(), 0755) == 0) {
    *created = true;
    return absl::OkStatus();
  }
  if (errno == EEXIST) {
    return absl::OkStatus();
  }
  if (errno != ENOENT) {
    return ErrnoError(errno, "mkdir", path);
  }
  RETURN_IF_ERROR(MkdirAll(path.substr(0, path.rfind('/'))));
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoError(errno, "mkdir", path);
  }
  *created = true;
  return absl::OkStatus();
}

absl::Status RemoveDir(const std::string& path, bool wait) {
  // EBUSY while the last tasks are still exiting, or dead but not yet reaped: a process whose
  // shim died is reaped by init, which may take its time. Back off from 1 ms to 128 ms, about
  // 1.4 s in all (runc waits about 0.3 s).
  int64_t delay_ns = 1'000'000;
  const int attempts = wait ? 18 : 1;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (rmdir(path.c_str()) == 0 || errno == ENOENT) {
      return absl::OkStatus();
    }
    if (errno != EBUSY) {
      return ErrnoError(errno, "rmdir", path);
    }
    if (attempt + 1 == attempts) break;
    timespec ts{0, delay_ns};
    nanosleep(&ts, nullptr);
    delay_ns = std::min<int64_t>(delay_ns * 2, 128'000'000);
  }
  return absl::FailedPreconditionError(absl::StrCat("rmdir `", path, "`: processes remain"));
}

std::string ContainerPath(const std::string& cgroups_path, const std::string& self_path) {
  if (!cgroups_path.empty() && cgroups_path[0] == '/') {
    return cgroups_path;
  }
  std::string base = self_path == "/" ? "" : self_path;
  return absl::StrCat(base, "/", cgroups_path);
}

}  // namespace cgroups

namespace {

std::string HierarchyDir(const cgroups::Hierarchy& h, const std::string& path) {
  if (h.root == "/" || !absl::StartsWith(path, h.root)) {
    return h.mount_point + path;
  }
  return h.mount_point + path.substr(h.root.size());
}

class NoopManager final : public CgroupManager {
 public:
  absl::Status Create(const Resources*) override { return absl::OkStatus(); }
  absl::Status AddProcess(pid_t) override { return absl::OkStatus(); }
  absl::Status Update(const Resources&) override {
    return absl::FailedPreconditionError("update: the container has no cgroup");
  }
  absl::Status Freeze() override {
    return absl::FailedPreconditionError("pause: the container has no cgroup");
  }
  absl::Status Thaw() override { return Freeze(); }
  absl::StatusOr<bool> IsFrozen() override { return false; }
  absl::StatusOr<std::vector<pid_t>> Pids() override { return std::vector<pid_t>{}; }
  absl::StatusOr<CgroupStats> Stats() override { return CgroupStats{}; }
  absl::StatusOr<int> OomEventFd() override {
    return absl::UnimplementedError("oom events: the container has no cgroup");
  }
  absl::Status Destroy() override { return absl::OkStatus(); }
  std::map<std::string, std::string> Paths() const override { return {}; }
};

}  // namespace

absl::StatusOr<std::unique_ptr<CgroupManager>> NewCgroupManager(const std::string& cgroups_path,
                                                                 const std::string& id) {
  std::string wanted = cgroups_path.empty() ? id : cgroups_path;
  if (wanted.find(':') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cgroupsPath `", wanted, "`: systemd slice paths need --systemd-cgroup (unsupported)"));
  }
  ASSIGN_OR_RETURN(cgroups::Layout layout, cgroups::ReadLayout());
  std::map<std::string, std::string> dirs;
  std::string unified;
  for (const cgroups::Hierarchy& h : layout.hierarchies) {
    std::string key = h.v2 ? "" : absl::StrJoin(h.controllers, ",");
    auto self = layout.self.find(key);
    std::string self_path = self == layout.self.end() ? "/" : self->second;
    std::string dir = HierarchyDir(h, cgroups::ContainerPath(wanted, self_path));
    if (h.v2) {
      unified = dir;
    } else if (!h.controllers.empty() && dirs.find(key) == dirs.end()) {
      dirs[key] = dir;
    }
  }
  if (layout.pure_v2) {
    if (unified.empty()) {
      return absl::FailedPreconditionError("cgroups: no cgroup hierarchy is mounted");
    }
    return cgroups::NewV2Manager(unified);
  }
  return cgroups::NewV1Manager(std::move(dirs), std::move(unified));
}

std::unique_ptr<CgroupManager> LoadCgroupManager(const std::map<std::string, std::string>& paths) {
  if (paths.empty()) {
    return NoopCgroupManager();
  }
  std::map<std::string, std::string> dirs = paths;
  std::string unified;
  if (auto it = dirs.find("unified"); it != dirs.end()) {
    unified = it->second;
    dirs.erase(it);
  }
  if (dirs.empty()) {
    return cgroups::NewV2Manager(unified);
  }
  return cgroups::NewV1Manager(std::move(dirs), std::move(unified));
}

std::unique_ptr<CgroupManager> NoopCgroupManager() { return std::make_unique<NoopManager>(); }

}  // namespace berth::oci
