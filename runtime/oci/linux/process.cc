#include "runtime/oci/linux/process.h"

#include <grp.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"

namespace berth::oci {
namespace {

// The signals the runtime's process ignores or catches (SigIgn | SigCgt of /proc/self/status),
// or all of them if that cannot be read.
uint64_t NonDefaultSignals() {
  absl::StatusOr<std::string> status = ReadFile("/proc/self/status");
  if (!status.ok()) return ~uint64_t{0};
  uint64_t mask = 0;
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    uint64_t bits = 0;
    if (absl::ConsumePrefix(&line, "SigIgn:\t") || absl::ConsumePrefix(&line, "SigCgt:\t")) {
      if (!absl::SimpleHexAtoi(line, &bits)) return ~uint64_t{0};
      mask |= bits;
    }
  }
  return mask;
}

}  // namespace

// The raw system call, because glibc refuses to touch its internal signals 32 and 33, which
// its posix_spawn leaves ignored in what berthd starts (and an ignored signal survives exec).
void ResetSignals() {
  struct KernelSigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    uint64_t mask;
  } default_action = {SIG_DFL, 0, nullptr, 0};
  uint64_t changed = NonDefaultSignals();
  for (int sig = 1; sig <= 64; ++sig) {
    if (((changed >> (sig - 1)) & 1) == 0 || sig == SIGKILL || sig == SIGSTOP) continue;
    syscall(SYS_rt_sigaction, sig, &default_action, nullptr, sizeof(uint64_t));
  }
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_UNBLOCK, &all, nullptr);
}

absl::Status SetRlimits(const std::vector<Rlimit>& rlimits) {
  for (const Rlimit& r : rlimits) {
    rlimit lim{static_cast<rlim_t>(r.soft), static_cast<rlim_t>(r.hard)};
    if (setrlimit(static_cast<__rlimit_resource>(r.resource), &lim) != 0) {
      return ErrnoError(errno, absl::StrCat("setrlimit ", r.resource));
    }
  }
  return absl::OkStatus();
}

absl::Status SetUser(const User& user, bool setgroups_allowed) {
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
    return ErrnoError(errno, "prctl keepcaps");
  }
  if (setgroups_allowed) {
    std::vector<gid_t> gids(user.additional_gids.begin(), user.additional_gids.end());
    if (setgroups(gids.size(), gids.data()) != 0) {
      return ErrnoError(errno, "setgroups");
    }
  }
  if (syscall(SYS_setresgid, user.gid, user.gid, user.gid) != 0) {
    return ErrnoError(errno, absl::StrCat("setgid ", user.gid));
  }
  if (syscall(SYS_setresuid, user.uid, user.uid, user.uid) != 0) {
    return ErrnoError(errno, absl::StrCat("setuid ", user.uid));
  }
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) {
    return ErrnoError(errno, "prctl keepcaps");
  }
  if (user.umask) {
    umask(*user.umask);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> LookPath(const std::string& file, const std::vector<std::string>& env) {
  if (file.find('/') != std::string::npos) {
    return file;
  }
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const std::string& e : env) {
    if (e.rfind("PATH=", 0) == 0) {
      path = e.substr(5);
    }
  }
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/", file);
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) {
      return candidate;
    }
  }
  return absl::NotFoundError(absl::StrCat("exec: `", file, "`: executable file not found in $PATH"));
}

void CloexecFrom(int first) {
  syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, CLOSE_RANGE_CLOEXEC);
}

void CloseFdsExcept(int first, int keep) {
  if (keep < first) {
    syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, 0);
    return;
  }
  if (keep > first) syscall(SYS_close_range, static_cast<unsigned>(first), keep - 1U, 0);
  syscall(SYS_close_range, keep + 1U, ~0U, 0);
}

absl::Status CheckCwdInsideRoot(const std::string& cwd) {
  char buf[PATH_MAX];
  if (syscall(SYS_getcwd, buf, sizeof(buf)) < 0 || buf[0] != '/') {
    return absl::PermissionDeniedError(
        absl::StrCat("process.cwd `", cwd, "` is outside the container's root filesystem"));
  }
  return absl::OkStatus();
}

absl::Status ExecProcess(const Process& process) {
  ASSIGN_OR_RETURN(std::string path, LookPath(process.args[0], process.env));
  std::vector<char*> argv, envp;
  for (const std::string& a : process.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : process.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  execve(path.c_str(), argv.data(), envp.data());
  return ErrnoError(errno, "exec", process.args[0]);
}

}  // namespace berth::oci
