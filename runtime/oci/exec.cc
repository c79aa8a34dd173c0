// Exec: a new process in a running container. An intermediate child joins the container's
// namespaces (setns on a pidfd: all at once) and forks the process, which then lives in the
// container's pid namespace; the parent moves it into the container's cgroup before letting
// it apply the process settings and exec.

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"
#include "runtime/oci/container.h"
#include "runtime/oci/container_internal.h"
#include "runtime/oci/init.h"
#include "runtime/oci/linux/namespaces.h"
#include "runtime/oci/linux/process.h"
#include "runtime/oci/linux/terminal.h"
#include "runtime/oci/sync.h"

namespace berth::oci {
namespace {

constexpr int kAllNamespaces = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS |
                               CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP;

struct ExecChild {
  int pidfd;
  int ns_flags;
  int sync_fd;
  int console_fd;
  const ExecOptions* options;
  const SeccompProgram* seccomp;  // Compiled before the fork; null: no filter.
};

absl::Status Grandchild(const ExecChild& c) {
  RETURN_IF_ERROR(sync::Expect(c.sync_fd, sync::kGo, "parent gone").status());
  const StdioFds& io = c.options->stdio;
  const int fds[3] = {io.in, io.out, io.err};
  for (int i = 0; i < 3; ++i) {
    if (fds[i] >= 0 && dup2(fds[i], i) < 0) return ErrnoError(errno, "dup2 stdio");
  }
  if (c.console_fd >= 0) {
    RETURN_IF_ERROR(SetupTerminal(c.console_fd, c.options->process.console_size, false));
    close(c.console_fd);
  }
  return FinalizeAndExec(c.options->process, c.seccomp, c.options->preserve_fds,
                         (c.ns_flags & CLONE_NEWUSER) == 0, c.sync_fd);
}

[[noreturn]] void Intermediate(const ExecChild& c) {
  ResetSignals();
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (c.ns_flags != 0 && setns(c.pidfd, c.ns_flags) != 0) {
    (void)sync::Send(c.sync_fd, sync::kError, ErrnoError(errno, "setns into the container").message());
    _exit(1);
  }
  if (c.ns_flags & CLONE_NEWUSER) {
    (void)!setresgid(0, 0, 0);
    (void)!setresuid(0, 0, 0);
  }
  pid_t pid = fork();
  if (pid < 0) {
    (void)sync::Send(c.sync_fd, sync::kError, ErrnoError(errno, "fork").message());
    _exit(1);
  }
  if (pid == 0) {
    absl::Status s = Grandchild(c);
    (void)sync::Send(c.sync_fd, sync::kError, s.message());
    _exit(1);
  }
  (void)sync::Send(c.sync_fd, sync::kPid, absl::StrCat(pid));
  _exit(0);
}

// Parent side once the intermediate has reported: cgroup, go, wait for the exec.
absl::StatusOr<pid_t> Release(int sync_fd, pid_t intermediate, const ContainerState& state) {
  absl::StatusOr<std::string> pid_text = sync::Expect(sync_fd, sync::kPid, "exec child exited");
  int status = 0;
  waitpid(intermediate, &status, 0);
  if (!pid_text.ok()) return pid_text.status();
  pid_t pid = 0;
  if (!absl::SimpleAtoi(*pid_text, &pid)) return absl::InternalError("exec: bad pid message");
  absl::Cleanup kill_it = [pid] { kill(pid, SIGKILL); };
  RETURN_IF_ERROR(LoadCgroupManager(state.cgroup_paths)->AddProcess(pid));
  RETURN_IF_ERROR(sync::Send(sync_fd, sync::kGo));
  ASSIGN_OR_RETURN(sync::Message reply, sync::Receive(sync_fd));
  if (reply.type == sync::kError) return absl::FailedPreconditionError(reply.payload);
  std::move(kill_it).Cancel();
  return pid;
}

int WaitPid(pid_t pid, const sigset_t& set) {
  while (true) {
    siginfo_t info;
    int sig = sigwaitinfo(&set, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      kill(pid, sig);
      continue;
    }
    int status = 0;
    pid_t reaped;
    while ((reaped = waitpid(-1, &status, WNOHANG)) > 0) {
      if (reaped == pid) return ExitCodeFromWaitStatus(status);
    }
  }
}

}  // namespace

absl::StatusOr<ExecResult> Runtime::Exec(const std::string& id, const ExecOptions& options) {
  ASSIGN_OR_RETURN(ContainerState state, State(id));
  if (state.status != ContainerStatus::kRunning && state.status != ContainerStatus::kCreated) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot exec in a ", StatusName(state.status), " container"));
  }
  ASSIGN_OR_RETURN(Spec spec, ParseSpec(state.config_json));
  std::optional<SeccompProgram> seccomp;
  if (spec.linux.seccomp) {
    ASSIGN_OR_RETURN(seccomp, CompileSeccomp(*spec.linux.seccomp, SeccompCacheDir(store_)));
  }
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, state.pid, 0)));
  if (!pidfd.valid()) return ErrnoError(errno, "pidfd_open", absl::StrCat(state.pid));
  UniqueFd console;
  if (options.process.terminal && options.console_fd < 0) {
    if (options.console_socket.empty()) {
      return absl::InvalidArgumentError("cannot allocate a tty without --console-socket");
    }
    ASSIGN_OR_RETURN(console, ConnectConsoleSocket(options.console_socket));
  }
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return ErrnoError(errno, "socketpair");
  }
  UniqueFd parent_fd(pair[0]), child_fd(pair[1]);
  ExecChild child{pidfd.get(), DifferingNamespaces(state.pid, kAllNamespaces), child_fd.get(),
                  !options.process.terminal ? -1
                  : options.console_fd >= 0 ? options.console_fd : console.get(),
                  &options, seccomp ? &*seccomp : nullptr};
  sigset_t all, old;
  sigfillset(&all);
  if (!options.detach) {
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    sigprocmask(SIG_BLOCK, &all, &old);
  }
  absl::Cleanup restore = [&] {
    if (!options.detach) sigprocmask(SIG_SETMASK, &old, nullptr);
  };
  pid_t intermediate = fork();
  if (intermediate < 0) return ErrnoError(errno, "fork");
  if (intermediate == 0) {
    close(parent_fd.get());
    Intermediate(child);
  }
  child_fd.Reset();
  console.Reset();
  ASSIGN_OR_RETURN(pid_t pid, Release(parent_fd.get(), intermediate, state));
  ExecResult result{pid, 0};
  if (!options.pid_file.empty()) {
    std::string tmp = absl::StrCat(options.pid_file, ".tmp");
    UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    std::string text = absl::StrCat(pid);
    if (!fd.valid() || write(fd.get(), text.data(), text.size()) < 0 ||
        rename(tmp.c_str(), options.pid_file.c_str()) != 0) {
      return ErrnoError(errno, "write pid file", options.pid_file);
    }
  }
  if (!options.detach) {
    result.exit_code = WaitPid(pid, all);
  }
  return result;
}

}  // namespace berth::oci
