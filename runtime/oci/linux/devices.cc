// /dev inside the container: default devices (null, zero, full, random, urandom, tty), the
// spec's devices, /dev/ptmx and the /dev/fd, stdin, stdout, stderr symlinks.

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "runtime/oci/linux/rootfs.h"

namespace berth::oci {
namespace {

const Device kDefaultDevices[] = {
    {'c', "/dev/null", 1, 3, 0666, 0, 0},    {'c', "/dev/zero", 1, 5, 0666, 0, 0},
    {'c', "/dev/full", 1, 7, 0666, 0, 0},    {'c', "/dev/random", 1, 8, 0666, 0, 0},
    {'c', "/dev/urandom", 1, 9, 0666, 0, 0}, {'c', "/dev/tty", 5, 0, 0666, 0, 0},
};

constexpr std::pair<const char*, const char*> kSymlinks[] = {
    {"/proc/self/fd", "/dev/fd"},     {"/proc/self/fd/0", "/dev/stdin"},
    {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
};

absl::Status BindDevice(const Device& d, const std::string& target) {
  int fd = open(target.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0000);
  if (fd < 0 && errno != EEXIST) {
    return ErrnoError(errno, "create device target", target);
  }
  if (fd >= 0) close(fd);
  if (mount(d.path.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return ErrnoError(errno, "bind device", d.path);
  }
  return absl::OkStatus();
}

absl::Status CreateDevice(const Device& d, const std::string& rootfs, bool bind) {
  ASSIGN_OR_RETURN(std::string target, SecureJoin(rootfs, d.path));
  RETURN_IF_ERROR(MkdirAll(target.substr(0, target.rfind('/')), 0755));
  if (bind) {
    return BindDevice(d, target);
  }
  mode_t type = d.type == 'b' ? S_IFBLK : d.type == 'p' ? S_IFIFO : S_IFCHR;
  mode_t mode = type | (d.file_mode.value_or(0666) & 07777);
  unlink(target.c_str());
  if (mknod(target.c_str(), mode, makedev(d.major, d.minor)) != 0) {
    if (errno == EPERM) {
      return BindDevice(d, target);
    }
    return ErrnoError(errno, "mknod", d.path);
  }
  if (chmod(target.c_str(), mode & 07777) != 0) {  // mknod's mode is masked by the umask.
    return ErrnoError(errno, "chmod", d.path);
  }
  if ((d.uid.value_or(0) != 0 || d.gid.value_or(0) != 0) &&
      chown(target.c_str(), d.uid.value_or(0), d.gid.value_or(0)) != 0) {
    return ErrnoError(errno, "chown", d.path);
  }
  return absl::OkStatus();
}

bool DevIsBoundFromHost(const Spec& spec) {
  for (const Mount& m : spec.mounts) {
    if (m.destination == "/dev" && m.IsBind()) return true;
  }
  return false;
}

}  // namespace

absl::Status SetupDev(const Spec& spec, const std::string& rootfs, bool bind_devices) {
  if (DevIsBoundFromHost(spec)) {
    return absl::OkStatus();
  }
  for (const Device& d : kDefaultDevices) {
    RETURN_IF_ERROR(CreateDevice(d, rootfs, bind_devices));
  }
  for (const Device& d : spec.linux.devices) {
    RETURN_IF_ERROR(CreateDevice(d, rootfs, bind_devices));
  }
  std::string ptmx = absl::StrCat(rootfs, "/dev/ptmx");
  unlink(ptmx.c_str());
  if (symlink("pts/ptmx", ptmx.c_str()) != 0) {
    return ErrnoError(errno, "symlink", "/dev/ptmx");
  }
  for (const auto& [from, to] : kSymlinks) {
    std::string link = absl::StrCat(rootfs, to);
    if (symlink(from, link.c_str()) != 0 && errno != EEXIST) {
      return ErrnoError(errno, "symlink", to);
    }
  }
  if (access("/proc/kcore", F_OK) == 0) {
    std::string core = absl::StrCat(rootfs, "/dev/core");
    (void)symlink("/proc/kcore", core.c_str());
  }
  return absl::OkStatus();
}

}  // namespace berth::oci
