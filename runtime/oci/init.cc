// The init process's setup steps, in the order runc and crun use.

#include "runtime/oci/init.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "runtime/oci/linux/cgroups_internal.h"
#include "runtime/oci/linux/hooks.h"
#include "runtime/oci/linux/namespaces.h"
#include "runtime/oci/linux/process.h"
#include "runtime/oci/linux/rootfs.h"
#include "runtime/oci/linux/security.h"
#include "runtime/oci/linux/terminal.h"
#include "runtime/oci/sync.h"

namespace berth::oci {
namespace {

absl::Status Stdio(const StdioFds& stdio) {
  const int fds[3] = {stdio.in, stdio.out, stdio.err};
  for (int i = 0; i < 3; ++i) {
    if (fds[i] >= 0 && dup2(fds[i], i) < 0) {
      return ErrnoError(errno, "dup2 stdio");
    }
  }
  return absl::OkStatus();
}

absl::Status OomScoreAdj(const Process& p) {
  if (!p.oom_score_adj) return absl::OkStatus();
  return cgroups::WriteFile("/proc/self", "oom_score_adj", absl::StrCat(*p.oom_score_adj));
}

absl::Status CreateCwd(const InitContext& ctx) {
  ASSIGN_OR_RETURN(std::string cwd, SecureJoin(ctx.rootfs, ctx.spec->process->cwd));
  return MkdirAll(cwd, 0755);
}

// Waits for the parent's kGo (cgroups joined, ids mapped) unless already received.
absl::Status WaitGo(const InitContext& ctx, bool* received) {
  if (*received) return absl::OkStatus();
  *received = true;
  return sync::Expect(ctx.sync_fd, sync::kGo, "parent gone").status();
}

// prestart + createRuntime run in the parent; createContainer here, before pivot_root.
absl::StatusOr<std::string> Hooks(const InitContext& ctx, bool* go_received) {
  const oci::Hooks& h = ctx.spec->hooks;
  if (h.prestart.empty() && h.create_runtime.empty() && h.create_container.empty() &&
      h.start_container.empty()) {
    return std::string();
  }
  RETURN_IF_ERROR(WaitGo(ctx, go_received));
  RETURN_IF_ERROR(sync::Send(ctx.sync_fd, sync::kHooks));
  ASSIGN_OR_RETURN(std::string state, sync::Expect(ctx.sync_fd, sync::kHooksDone, "parent gone"));
  RETURN_IF_ERROR(RunHooks(h.create_container, state, "createContainer"));
  return state;
}

absl::Status Sysctls(const Spec& spec) {
  for (const auto& [key, value] : spec.linux.sysctl) {
    std::string path = absl::StrCat("/proc/sys/", absl::StrReplaceAll(key, {{".", "/"}}));
    std::string dir = path.substr(0, path.rfind('/'));
    RETURN_IF_ERROR(cgroups::WriteFile(dir, path.substr(dir.size() + 1), value));
  }
  return absl::OkStatus();
}

absl::Status Hostname(const Spec& spec) {
  if (!spec.hostname.empty() && sethostname(spec.hostname.data(), spec.hostname.size()) != 0) {
    return ErrnoError(errno, "sethostname");
  }
  if (!spec.domainname.empty() &&
      setdomainname(spec.domainname.data(), spec.domainname.size()) != 0) {
    return ErrnoError(errno, "setdomainname");
  }
  return absl::OkStatus();
}

// Blocks until the runtime says start; returns the fd to report exec errors on.
absl::StatusOr<int> WaitStart(const InitContext& ctx) {
  RETURN_IF_ERROR(sync::Send(ctx.sync_fd, sync::kReady));
  if (ctx.start_listen_fd < 0) {
    RETURN_IF_ERROR(sync::Expect(ctx.sync_fd, sync::kStart, "parent gone").status());
    return ctx.sync_fd;
  }
  close(ctx.sync_fd);
  while (true) {
    int conn = accept4(ctx.start_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "accept on start socket");
    }
    absl::StatusOr<sync::Message> m = sync::Receive(conn);
    if (m.ok() && m->type == sync::kStart) {
      close(ctx.start_listen_fd);
      return conn;
    }
    close(conn);
  }
}

// Takes uid/gid 0 of the (new or joined) user namespace, so files created from here on are
// owned by the container's root.
absl::Status BecomeRoot() {
  if (setresgid(0, 0, 0) != 0) return ErrnoError(errno, "setresgid 0 in the user namespace");
  if (setresuid(0, 0, 0) != 0) return ErrnoError(errno, "setresuid 0 in the user namespace");
  return absl::OkStatus();
}

// The whole setup up to the start wait.
absl::StatusOr<int> Setup(const InitContext& ctx) {
  const Spec& spec = *ctx.spec;
  // With a new user namespace nothing works before the id maps; otherwise the parent joins
  // the cgroups while the mounts are being made.
  bool go_received = false;
  if (ctx.new_userns) {
    RETURN_IF_ERROR(WaitGo(ctx, &go_received));
  }
  if (ctx.ready_netns_fd >= 0 && setns(ctx.ready_netns_fd, CLONE_NEWNET) != 0) {
    return ErrnoError(errno, "join the network namespace made ahead");
  }
  RETURN_IF_ERROR(JoinNamespaces(spec.linux));
  if (spec.linux.FindNamespace(CLONE_NEWUSER) != nullptr) {
    RETURN_IF_ERROR(BecomeRoot());
  }
  RETURN_IF_ERROR(Stdio(ctx.stdio));
  RETURN_IF_ERROR(OomScoreAdj(*spec.process));
  if (chdir(ctx.bundle.c_str()) != 0) return ErrnoError(errno, "chdir", ctx.bundle);
  RETURN_IF_ERROR(PrepareRootfs(spec, ctx.rootfs));
  RETURN_IF_ERROR(MountAll(spec, ctx.rootfs, ctx.cgroup_paths));
  RETURN_IF_ERROR(SetupDev(spec, ctx.rootfs, ctx.new_userns));
  RETURN_IF_ERROR(CreateCwd(ctx));
  ASSIGN_OR_RETURN(std::string state_json, Hooks(ctx, &go_received));
  RETURN_IF_ERROR(PivotRoot(ctx.rootfs, ctx.no_pivot));
  RETURN_IF_ERROR(Sysctls(spec));
  RETURN_IF_ERROR(Hostname(spec));
  if (ctx.console_fd >= 0) {
    RETURN_IF_ERROR(SetupTerminal(ctx.console_fd, spec.process->console_size, true));
    close(ctx.console_fd);
  }
  RETURN_IF_ERROR(ReadonlyPaths(spec.linux.readonly_paths));
  RETURN_IF_ERROR(MaskPaths(spec.linux.masked_paths));
  RETURN_IF_ERROR(FinalizeRootfs(spec));
  RETURN_IF_ERROR(WaitGo(ctx, &go_received));
  ASSIGN_OR_RETURN(int start_fd, WaitStart(ctx));
  if (absl::Status s = RunHooks(spec.hooks.start_container, state_json, "startContainer"); !s.ok()) {
    (void)sync::Send(start_fd, sync::kError, s.message());
    _exit(1);
  }
  return start_fd;
}

std::vector<std::string> WithHome(const Process& p) {
  for (const std::string& e : p.env) {
    if (e.rfind("HOME=", 0) == 0) return p.env;
  }
  std::string home = "/";
  if (absl::StatusOr<std::string> passwd = ReadFile("/etc/passwd"); passwd.ok()) {
    for (absl::string_view line : absl::StrSplit(*passwd, '\n')) {
      std::vector<absl::string_view> f = absl::StrSplit(line, ':');
      if (f.size() >= 6 && f[2] == absl::StrCat(p.user.uid)) {
        home = std::string(f[5]);
        break;
      }
    }
  }
  std::vector<std::string> env = p.env;
  env.push_back(absl::StrCat("HOME=", home));
  return env;
}

}  // namespace

absl::Status FinalizeAndExec(const Process& process, const SeccompProgram* seccomp, int preserve_fds,
                             bool setgroups_allowed, int report_fd) {
  // An fd inherited from the caller (or leaked by the runtime) on a host directory would let
  // process.cwd or process.args[0] reach the host through /proc/self/fd/N (CVE-2024-21626):
  // close them all before resolving either, and check that the cwd is inside the root.
  CloseFdsExcept(3 + preserve_fds, report_fd);
  RETURN_IF_ERROR(SetRlimits(process.rlimits));
  if (chdir(process.cwd.c_str()) != 0) return ErrnoError(errno, "chdir", process.cwd);
  RETURN_IF_ERROR(CheckCwdInsideRoot(process.cwd));
  Process final_process = process;
  final_process.env = WithHome(process);
  // Without no_new_privs, loading seccomp needs CAP_SYS_ADMIN: load it before dropping caps.
  if (seccomp != nullptr && !process.no_new_privileges) {
    RETURN_IF_ERROR(LoadSeccomp(*seccomp));
  }
  if (process.capabilities) RETURN_IF_ERROR(DropBoundingSet(*process.capabilities));
  RETURN_IF_ERROR(SetUser(process.user, setgroups_allowed));
  if (process.capabilities) RETURN_IF_ERROR(ApplyCapabilities(*process.capabilities));
  if (process.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return ErrnoError(errno, "prctl no_new_privs");
  }
  if (seccomp != nullptr && process.no_new_privileges) {
    RETURN_IF_ERROR(LoadSeccomp(*seccomp));
  }
  CloexecFrom(3 + preserve_fds);
  return ExecProcess(final_process);
}

void RunInit(const InitContext& ctx) {
  ResetSignals();
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);  // No /proc/<pid>/exe access to the runtime binary.
  absl::StatusOr<int> start_fd = Setup(ctx);
  if (!start_fd.ok()) {
    (void)sync::Send(ctx.sync_fd, sync::kError, start_fd.status().message());
    _exit(1);
  }
  absl::Status s = FinalizeAndExec(*ctx.spec->process, ctx.seccomp, ctx.preserve_fds,
                                   /*setgroups_allowed=*/true, *start_fd);
  (void)sync::Send(*start_fd, sync::kError, s.message());
  _exit(1);
}

}  // namespace berth::oci
