#include "runtime/oci/linux/sealed_exe.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"

extern char** environ;

namespace berth::oci {
namespace {

// Set across the re-exec so that a kernel which does not report the new file as sealed makes
// us fail instead of re-exec'ing forever.
constexpr char kReexecMarker[] = "_BERTH_RUNTIME_SEALED";

bool IsSealed(int fd) {
  int seals = fcntl(fd, F_GET_SEALS);
  if (seals >= 0 && (seals & F_SEAL_WRITE) != 0) return true;
  struct statvfs sv;
  return fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY) != 0;
}

absl::StatusOr<std::string> SelfExePath() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n < 0) return ErrnoError(errno, "readlink", "/proc/self/exe");
  return std::string(buf, n);
}

// A detached read-only overlayfs of `dir` over /dev (any directory outside `dir` does;
// overlayfs wants two lower layers when there is no upper one). Kernels since 6.8 take each
// layer whole ("lowerdir+"); older ones a colon-separated "lowerdir" string, in which ':' and
// backslash are escaped and ',' cannot appear (older overlayfs parses an option string).
absl::StatusOr<UniqueFd> MountOverlay(const std::string& dir, bool append_syntax) {
  UniqueFd fs(static_cast<int>(syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC)));
  if (!fs.valid()) return ErrnoError(errno, "fsopen", "overlay");
  auto set = [&](const char* key, const std::string& value) {
    return syscall(SYS_fsconfig, fs.get(), FSCONFIG_SET_STRING, key, value.c_str(), 0) == 0;
  };
  if (append_syntax) {
    if (!set("lowerdir+", dir) || !set("lowerdir+", "/dev")) {
      return ErrnoError(errno, "overlay lowerdir+", dir);
    }
  } else {
    if (dir.find(',') != std::string::npos) {
      return absl::FailedPreconditionError("binary directory name has a comma");
    }
    std::string escaped;
    for (char c : dir) {
      if (c == ':' || c == '\\') escaped.push_back('\\');
      escaped.push_back(c);
    }
    if (!set("lowerdir", escaped + ":/dev")) return ErrnoError(errno, "overlay lowerdir", dir);
  }
  if (syscall(SYS_fsconfig, fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return ErrnoError(errno, "overlay create");
  }
  UniqueFd mnt(static_cast<int>(syscall(SYS_fsmount, fs.get(), FSMOUNT_CLOEXEC,
                                        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID)));
  if (!mnt.valid()) return ErrnoError(errno, "fsmount", "overlay");
  return mnt;
}

// The binary opened through a read-only overlayfs mounted nowhere (no copy). The mount lives
// as long as a process executes from it.
absl::StatusOr<UniqueFd> OverlayView(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) {
    return absl::FailedPreconditionError("binary not in a subdirectory");
  }
  std::string dir = path.substr(0, slash), name = path.substr(slash + 1);
  absl::StatusOr<UniqueFd> mnt = MountOverlay(dir, /*append_syntax=*/true);
  if (!mnt.ok()) mnt = MountOverlay(dir, /*append_syntax=*/false);
  if (!mnt.ok()) return mnt.status();
  UniqueFd exe(openat(mnt->get(), name.c_str(), O_RDONLY | O_CLOEXEC));
  if (!exe.valid()) return ErrnoError(errno, "open through overlay", name);
  return exe;
}

// A memfd copy of the binary at `path`, sealed against any change.
absl::StatusOr<UniqueFd> SealedCopy(const std::string& path) {
  UniqueFd src(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src.valid()) return ErrnoError(errno, "open", path);
  struct stat st;
  if (fstat(src.get(), &st) != 0) return ErrnoError(errno, "stat", path);
  unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
#ifdef MFD_EXEC
  flags |= MFD_EXEC;
#endif
  UniqueFd mem(memfd_create("berth-runtime", flags));
#ifdef MFD_EXEC
  if (!mem.valid() && errno == EINVAL) {
    mem.Reset(memfd_create("berth-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  }
#endif
  if (!mem.valid()) return ErrnoError(errno, "memfd_create");
  for (off_t left = st.st_size; left > 0;) {
    ssize_t n = sendfile(mem.get(), src.get(), nullptr, left);
    if (n <= 0) return ErrnoError(n < 0 ? errno : EIO, "copy the runtime binary");
    left -= n;
  }
  constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (fcntl(mem.get(), F_ADD_SEALS, kSeals) != 0) {
    return ErrnoError(errno, "seal the runtime binary copy");
  }
  return mem;
}

}  // namespace

absl::StatusOr<UniqueFd> OpenSealed(const std::string& path) {
  absl::StatusOr<UniqueFd> exe = OverlayView(path);
  if (!exe.ok()) exe = SealedCopy(path);
  return exe;
}

bool SelfExeIsSealed() {
  UniqueFd fd(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  return fd.valid() && IsSealed(fd.get());
}

absl::Status ReexecSealed(char** argv) {
  bool reexeced = getenv(kReexecMarker) != nullptr;
  unsetenv(kReexecMarker);
  if (argv[0] != nullptr) {
    // Exec'd through a file descriptor (execveat here, or /proc/self/fd/N by a parent that
    // sealed the binary for us), the process is named after the fd ("3"); give it back its
    // own name for ps.
    const char* base = strrchr(argv[0], '/');
    prctl(PR_SET_NAME, base != nullptr ? base + 1 : argv[0], 0, 0, 0);
  }
  if (SelfExeIsSealed()) return absl::OkStatus();
  if (reexeced) return absl::InternalError("re-executed runtime binary is still writable");
  absl::StatusOr<std::string> self = SelfExePath();
  absl::StatusOr<UniqueFd> exe = self.ok() ? OverlayView(*self) : self.status();
  if (!exe.ok()) exe = SealedCopy("/proc/self/exe");
  if (!exe.ok()) return Annotate(exe.status(), "protect the runtime binary");
  setenv(kReexecMarker, "1", 1);
  syscall(SYS_execveat, exe->get(), "", argv, environ, AT_EMPTY_PATH);
  int err = errno;
  unsetenv(kReexecMarker);
  return ErrnoError(err, "re-exec the runtime binary");
}

}  // namespace berth::oci
