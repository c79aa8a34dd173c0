#include "runtime/shim/preflight.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"
#include "runtime/oci/spec.h"

namespace berth::shim {
namespace {

constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Whether `path` (absolute in the container) is an executable file under `root_fd`, with
// symlinks resolved as if `root_fd` were "/".
bool IsExecutableInRoot(int root_fd, const std::string& path) {
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(static_cast<int>(syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof(how))));
  if (!fd.valid()) return false;
  struct stat st;
  return fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

bool ProvidedByMount(const oci::Spec& spec, const std::string& path) {
  for (const oci::Mount& mount : spec.mounts) {
    if (absl::StartsWith(path, absl::StrCat(mount.destination, "/"))) return true;
  }
  return false;
}

}  // namespace

absl::Status CheckBundleExecutable(const std::string& bundle) {
  ASSIGN_OR_RETURN(oci::Spec spec, oci::LoadBundleSpec(bundle));
  std::string root =
      spec.root.path[0] == '/' ? spec.root.path : JoinPath(bundle, spec.root.path);
  return CheckProcessExecutable(spec, root);
}

absl::Status CheckProcessExecutable(const oci::Spec& spec, const std::string& root) {
  if (!spec.process || spec.process->args.empty()) {
    return InvalidArgument("the spec has no process.args");
  }
  UniqueFd root_fd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) return ErrnoError(errno, "open rootfs", root);
  const std::string& arg0 = spec.process->args[0];
  std::vector<std::string> candidates;
  if (absl::StrContains(arg0, "/")) {
    candidates.push_back(arg0[0] == '/' ? arg0 : JoinPath(spec.process->cwd, arg0));
  } else {
    std::string path_env = kDefaultPath;
    for (const std::string& env : spec.process->env) {
      if (absl::StartsWith(env, "PATH=")) path_env = env.substr(5);
    }
    for (absl::string_view dir : absl::StrSplit(path_env, ':', absl::SkipEmpty())) {
      candidates.push_back(JoinPath(dir, arg0));
    }
  }
  for (const std::string& candidate : candidates) {
    if (IsExecutableInRoot(root_fd.get(), candidate) || ProvidedByMount(spec, candidate)) {
      return absl::OkStatus();
    }
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "exec `", arg0, "`: no such executable in the container's rootfs",
      absl::StrContains(arg0, "/") ? "" : " (searched process.env PATH)"));
}

}  // namespace berth::shim
