#include "runtime/oci/linux/namespaces.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include <cerrno>
#include <vector>

#include "absl/strings/str_cat.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"
#include "runtime/oci/linux/cgroups_internal.h"

namespace berth::oci {
namespace {

struct NsName {
  int flag;
  const char* proc_name;
};
constexpr NsName kNamespaces[] = {
    {CLONE_NEWUSER, "user"}, {CLONE_NEWNS, "mnt"},   {CLONE_NEWPID, "pid"},
    {CLONE_NEWUTS, "uts"},   {CLONE_NEWIPC, "ipc"},  {CLONE_NEWNET, "net"},
    {CLONE_NEWCGROUP, "cgroup"}, {CLONE_NEWTIME, "time"},
};

std::string MapText(const std::vector<IdMapping>& maps) {
  std::string text;
  for (const IdMapping& m : maps) {
    absl::StrAppend(&text, m.container_id, " ", m.host_id, " ", m.size, "\n");
  }
  return text;
}

}  // namespace

int NewNamespaceFlags(const Linux& l) {
  int flags = 0;
  for (const Namespace& ns : l.namespaces) {
    if (ns.path.empty()) {
      flags |= ns.type;
    }
  }
  return flags;
}

absl::StatusOr<UniqueFd> NewNetworkNamespace() {
  constexpr const char* kOwn = "/proc/thread-self/ns/net";
  UniqueFd own(open(kOwn, O_RDONLY | O_CLOEXEC));
  if (!own.valid()) return ErrnoError(errno, "open", kOwn);
  if (unshare(CLONE_NEWNET) != 0) return ErrnoError(errno, "unshare a network namespace");
  UniqueFd fresh(open(kOwn, O_RDONLY | O_CLOEXEC));
  int open_errno = errno;
  // Back at once; root (CAP_SYS_ADMIN over its own namespace) cannot be refused this.
  if (setns(own.get(), CLONE_NEWNET) != 0) {
    return ErrnoError(errno, "return to the network namespace of", kOwn);
  }
  if (!fresh.valid()) return ErrnoError(open_errno, "open the new network namespace");
  return fresh;
}

bool MayUseReadyNetworkNamespace(const Linux& l) {
  return (NewNamespaceFlags(l) & CLONE_NEWNET) != 0 && l.FindNamespace(CLONE_NEWUSER) == nullptr;
}

absl::Status JoinNamespaces(const Linux& l) {
  // Open everything first: after joining the mount namespace the paths may no longer resolve.
  std::vector<std::pair<UniqueFd, int>> fds;
  for (const NsName& n : kNamespaces) {
    const Namespace* ns = l.FindNamespace(n.flag);
    if (ns == nullptr || ns->path.empty()) {
      continue;
    }
    UniqueFd fd(open(ns->path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      return ErrnoError(errno, absl::StrCat("open ", n.proc_name, " namespace"), ns->path);
    }
    fds.emplace_back(std::move(fd), n.flag);
  }
  for (auto& [fd, flag] : fds) {
    if (setns(fd.get(), flag) != 0) {
      return ErrnoError(errno, "setns", l.FindNamespace(flag)->path);
    }
  }
  return absl::OkStatus();
}

absl::Status WriteIdMappings(pid_t pid, const Linux& l) {
  std::string dir = absl::StrCat("/proc/", pid);
  RETURN_IF_ERROR(cgroups::WriteFile(dir, "uid_map", MapText(l.uid_mappings)));
  return cgroups::WriteFile(dir, "gid_map", MapText(l.gid_mappings));
}

int DifferingNamespaces(pid_t pid, int wanted) {
  int flags = 0;
  for (const NsName& n : kNamespaces) {
    if ((wanted & n.flag) == 0) {
      continue;
    }
    struct stat theirs, ours;
    std::string path = absl::StrCat("/proc/", pid, "/ns/", n.proc_name);
    std::string self = absl::StrCat("/proc/self/ns/", n.proc_name);
    if (stat(path.c_str(), &theirs) == 0 && stat(self.c_str(), &ours) == 0 &&
        theirs.st_ino != ours.st_ino) {
      flags |= n.flag;
    }
  }
  return flags;
}

}  // namespace berth::oci
