#include "runtime/oci/linux/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"

namespace berth::oci {
namespace {

std::vector<char*> CStrings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const std::string& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

absl::Status RunHook(const Hook& hook, absl::string_view state_json, absl::string_view phase) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return ErrnoError(errno, "pipe");
  }
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  std::vector<std::string> args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  std::vector<char*> argv = CStrings(args), envp = CStrings(hook.env);
  pid_t pid = fork();
  if (pid < 0) {
    return ErrnoError(errno, "fork hook");
  }
  if (pid == 0) {
    dup2(read_end.get(), 0);
    execve(hook.path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  read_end.Reset();
  (void)!write(write_end.get(), state_json.data(), state_json.size());  // EPIPE if unread.
  write_end.Reset();
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (hook.timeout && pidfd.valid()) {
    pollfd p{pidfd.get(), POLLIN, 0};
    if (poll(&p, 1, *hook.timeout * 1000) == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return absl::DeadlineExceededError(
          absl::StrCat(phase, " hook `", hook.path, "`: timed out after ", *hook.timeout, "s"));
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        phase, " hook `", hook.path, "` failed: ",
        WIFEXITED(status) ? absl::StrCat("exit status ", WEXITSTATUS(status))
                          : absl::StrCat("signal ", WTERMSIG(status))));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunHooks(const std::vector<Hook>& hooks, absl::string_view state_json,
                      absl::string_view phase) {
  for (const Hook& hook : hooks) {
    RETURN_IF_ERROR(RunHook(hook, state_json, phase));
  }
  return absl::OkStatus();
}

}  // namespace berth::oci
