#include "snapshotter/mount_util.h"

#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <thread>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"

namespace berth::snapshotter {
namespace {

// mount(2) copies its data argument into one page.
constexpr size_t kPageSize = 4096;

struct Flag {
  bool clear;
  unsigned long flag;
};

const absl::flat_hash_map<std::string, Flag>& FlagTable() {
  static const auto* table = new absl::flat_hash_map<std::string, Flag>{
      {"async", {true, MS_SYNCHRONOUS}},
      {"atime", {true, MS_NOATIME}},
      {"bind", {false, MS_BIND}},
      {"defaults", {false, 0}},
      {"dev", {true, MS_NODEV}},
      {"diratime", {true, MS_NODIRATIME}},
      {"dirsync", {false, MS_DIRSYNC}},
      {"exec", {true, MS_NOEXEC}},
      {"mand", {false, MS_MANDLOCK}},
      {"noatime", {false, MS_NOATIME}},
      {"nodev", {false, MS_NODEV}},
      {"nodiratime", {false, MS_NODIRATIME}},
      {"noexec", {false, MS_NOEXEC}},
      {"nomand", {true, MS_MANDLOCK}},
      {"norelatime", {true, MS_RELATIME}},
      {"nostrictatime", {true, MS_STRICTATIME}},
      {"nosuid", {false, MS_NOSUID}},
      {"rbind", {false, MS_BIND | MS_REC}},
      {"relatime", {false, MS_RELATIME}},
      {"remount", {false, MS_REMOUNT}},
      {"ro", {false, MS_RDONLY}},
      {"rw", {true, MS_RDONLY}},
      {"strictatime", {false, MS_STRICTATIME}},
      {"suid", {true, MS_NOSUID}},
      {"sync", {false, MS_SYNCHRONOUS}},
  };
  return *table;
}

const absl::flat_hash_map<std::string, unsigned long>& PropagationTable() {
  static const auto* table = new absl::flat_hash_map<std::string, unsigned long>{
      {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
      {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  return *table;
}

std::string DirName(absl::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == absl::string_view::npos) return "";
  return std::string(path.substr(0, slash + 1));  // keeps the trailing slash
}

// Rewrites "lowerdir=/a/b/1/fs:/a/b/2/fs" as "lowerdir=1/fs:2/fs" relative to "/a/b/", the
// longest directory all lower dirs share. Returns that directory, or "" if there is none.
std::string CompactLowerdir(std::string& data) {
  std::vector<std::string> options = absl::StrSplit(data, ',');
  std::string common;
  for (std::string& option : options) {
    if (!absl::StartsWith(option, "lowerdir=")) continue;
    std::vector<std::string> dirs = absl::StrSplit(option.substr(9), ':');
    common = DirName(dirs[0]);
    for (const std::string& dir : dirs) {
      while (!common.empty() && !absl::StartsWith(dir, common)) {
        common = DirName(absl::string_view(common).substr(0, common.size() - 1));
      }
    }
    if (common.size() <= 1) return "";
    for (std::string& dir : dirs) dir = dir.substr(common.size());
    option = absl::StrCat("lowerdir=", absl::StrJoin(dirs, ":"));
  }
  data = absl::StrJoin(options, ",");
  return common;
}

// mount(2) from a thread that has its own working directory `cwd`, so relative paths in
// `data` resolve there without touching the process-wide cwd other threads rely on.
absl::Status MountInDir(const std::string& cwd, const std::string& source,
                        const std::string& target, const std::string& type, unsigned long flags,
                        const std::string& data) {
  absl::Status result;
  std::thread worker([&] {
    if (unshare(CLONE_FS) != 0) {
      result = ErrnoError(errno, "unshare(CLONE_FS) for mount", target);
      return;
    }
    if (chdir(cwd.c_str()) != 0) {
      result = ErrnoError(errno, "chdir", cwd);
      return;
    }
    if (mount(source.c_str(), target.c_str(), type.c_str(), flags, data.c_str()) != 0) {
      result =
          ErrnoError(errno, absl::StrCat("mount ", type, " (relative to `", cwd, "`)"), target);
    }
  });
  worker.join();
  return result;
}

}  // namespace

ParsedMountOptions ParseMountOptions(absl::Span<const std::string> options) {
  ParsedMountOptions parsed;
  std::vector<absl::string_view> data;
  for (const std::string& option : options) {
    if (auto it = FlagTable().find(option); it != FlagTable().end()) {
      if (it->second.clear) {
        parsed.flags &= ~it->second.flag;
      } else {
        parsed.flags |= it->second.flag;
      }
    } else if (auto pit = PropagationTable().find(option); pit != PropagationTable().end()) {
      parsed.propagation |= pit->second;
    } else {
      data.push_back(option);
    }
  }
  parsed.data = absl::StrJoin(data, ",");
  return parsed;
}

absl::Status MountOne(const Mount& m, const std::string& mount_point) {
  std::string target = m.target.empty() ? mount_point : JoinPath(mount_point, m.target);
  ParsedMountOptions opts = ParseMountOptions(m.options);
  std::string type = m.type;
  if (type == "bind") {
    opts.flags |= MS_BIND;
    type = "none";
  }
  const unsigned long kRemountFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (opts.data.size() >= kPageSize && m.type == "overlay") {
    std::string data = opts.data;
    std::string cwd = CompactLowerdir(data);
    if (cwd.empty() || data.size() >= kPageSize) {
      return InvalidArgument(absl::StrCat("mount overlay on `", target, "`: options are ",
                                          opts.data.size(), " bytes, more than a page"));
    }
    RETURN_IF_ERROR(MountInDir(cwd, m.source, target, type, opts.flags, data));
  } else if (mount(m.source.c_str(), target.c_str(), type.c_str(), opts.flags,
                   opts.data.empty() ? nullptr : opts.data.c_str()) != 0) {
    return ErrnoError(errno, absl::StrCat("mount ", m.type, " `", m.source, "` on"), target);
  }
  // The kernel ignores MS_RDONLY and friends on a new bind mount: remount to apply them.
  if ((opts.flags & MS_BIND) && (opts.flags & kRemountFlags)) {
    unsigned long flags = MS_REMOUNT | MS_BIND | (opts.flags & (kRemountFlags | MS_REC));
    if (mount("", target.c_str(), nullptr, flags, nullptr) != 0) {
      absl::Status status = ErrnoError(errno, "remount read-only", target);
      umount2(target.c_str(), MNT_DETACH);
      return status;
    }
  }
  if (opts.propagation != 0 && mount("", target.c_str(), nullptr, opts.propagation, nullptr) != 0) {
    absl::Status status = ErrnoError(errno, "set mount propagation", target);
    umount2(target.c_str(), MNT_DETACH);
    return status;
  }
  return absl::OkStatus();
}

absl::Status MountAll(absl::Span<const Mount> mounts, const std::string& target) {
  for (size_t i = 0; i < mounts.size(); ++i) {
    absl::Status status = MountOne(mounts[i], target);
    if (!status.ok()) {
      for (size_t j = i; j > 0; --j) {
        const Mount& done = mounts[j - 1];
        std::string path = done.target.empty() ? target : JoinPath(target, done.target);
        umount2(path.c_str(), MNT_DETACH);
      }
      return status;
    }
  }
  return absl::OkStatus();
}

absl::Status UnmountAll(const std::string& target, int flags) {
  // Bounded: a directory has at most as many stacked mounts as anyone made on it.
  for (int i = 0; i < 1024; ++i) {
    if (umount2(target.c_str(), flags) != 0) {
      if (errno == EINVAL || errno == ENOENT) return absl::OkStatus();
      if (errno == EINTR) continue;
      return ErrnoError(errno, "unmount", target);
    }
  }
  return absl::InternalError(absl::StrCat("unmount `", target, "`: too many stacked mounts"));
}

absl::StatusOr<ScopedMount> ScopedMount::Create(absl::Span<const Mount> mounts,
                                                const std::string& target) {
  RETURN_IF_ERROR(MountAll(mounts, target));
  return ScopedMount(target);
}

ScopedMount::ScopedMount(ScopedMount&& other) noexcept : target_(other.Release()) {}

ScopedMount& ScopedMount::operator=(ScopedMount&& other) noexcept {
  if (this != &other) {
    (void)Unmount();
    target_ = other.Release();
  }
  return *this;
}

ScopedMount::~ScopedMount() {
  if (!target_.empty()) (void)UnmountAll(target_, MNT_DETACH);
}

absl::Status ScopedMount::Unmount() {
  std::string target = Release();
  if (target.empty()) return absl::OkStatus();
  absl::Status status = UnmountAll(target);
  if (!status.ok()) {
    // EBUSY (kUnavailable) means someone still uses it: detach it so it goes away when they
    // are done, and report the lazy unmount as success. Other errors are reported.
    absl::Status detached = UnmountAll(target, MNT_DETACH);
    if (absl::IsUnavailable(status)) return detached;
  }
  return status;
}

std::string ScopedMount::Release() { return std::exchange(target_, std::string()); }

absl::Status WithTempMount(absl::Span<const Mount> mounts,
                           absl::FunctionRef<absl::Status(const std::string& root)> fn,
                           const std::string& temp_parent) {
  std::string parent = temp_parent;
  if (parent.empty()) {
    const char* tmpdir = getenv("TMPDIR");
    parent = (tmpdir != nullptr && *tmpdir != '\0') ? tmpdir : "/tmp";
  }
  std::string templ = JoinPath(parent, "berth-mount-XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) return ErrnoError(errno, "mkdtemp", templ);
  const std::string root = templ;
  // Only rmdir: if unmounting failed, a recursive removal would delete the snapshot's files.
  absl::Cleanup remove_dir = [&root] { rmdir(root.c_str()); };

  ASSIGN_OR_RETURN(ScopedMount mounted, ScopedMount::Create(mounts, root));
  absl::Status status = fn(root);
  absl::Status unmount_status = mounted.Unmount();
  if (!status.ok()) return status;
  return Annotate(unmount_status, "with temp mount");
}

}  // namespace berth::snapshotter
