#include "runtime/v2/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"

extern char** environ;

namespace berth::runtime_v2 {
namespace {

// Owns a spawned child: kills (SIGKILL, by PID) and reaps it unless it was waited for.
class ChildProcess {
 public:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  ~ChildProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int status;
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  int Wait() {
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_;
};

std::vector<std::string> MergeEnv(const std::vector<std::string>& extra) {
  std::map<std::string, std::string> vars;
  std::vector<std::string> order;
  auto add = [&](const std::string& entry) {
    std::string key = entry.substr(0, entry.find('='));
    if (vars.emplace(key, entry).second) {
      order.push_back(key);
    } else {
      vars[key] = entry;
    }
  };
  for (char** e = environ; *e != nullptr; ++e) add(*e);
  for (const std::string& entry : extra) add(entry);
  std::vector<std::string> out;
  for (const std::string& key : order) out.push_back(vars[key]);
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

absl::Status MakePipe(UniqueFd& read_end, UniqueFd& write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe");
  read_end.Reset(fds[0]);
  write_end.Reset(fds[1]);
  return absl::OkStatus();
}

// Reads both pipes until EOF on both, or until the child has exited (`pid_fd` readable) and
// the pipes hold nothing more (a daemon it left behind may keep them open), or the deadline.
bool Drain(int out_fd, int err_fd, int pid_fd, absl::Time deadline, std::string* out,
           std::string* err) {
  struct pollfd fds[3] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}, {pid_fd, POLLIN, 0}};
  std::string* sinks[2] = {out, err};
  int open = 2;
  bool exited = false;
  char buf[8192];
  while (open > 0) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    int timeout_ms = exited ? 0 : static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
    int n = poll(fds, 3, timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 && exited) return true;
    if (n <= 0) continue;
    if (fds[2].fd >= 0 && fds[2].revents != 0) {
      exited = true;
      fds[2].fd = -1;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t got = read(fds[i].fd, buf, sizeof(buf));
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        fds[i].fd = -1;
        --open;
      }
    }
  }
  return true;
}

}  // namespace

bool CommandOutput::exited_ok() const { return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0; }

std::string CommandOutput::Describe() const {
  if (WIFEXITED(wait_status)) return absl::StrCat("exit status ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return absl::StrCat("signal ", WTERMSIG(wait_status));
  return absl::StrCat("wait status ", wait_status);
}

absl::StatusOr<CommandOutput> RunCommand(const CommandSpec& spec) {
  if (spec.argv.empty()) return absl::InvalidArgumentError("run command: empty argv");
  if (spec.stdin_data.size() > 60000) {
    return absl::InvalidArgumentError("run command: stdin data larger than a pipe buffer");
  }
  UniqueFd in_r, in_w, out_r, out_w, err_r, err_w;
  if (!spec.stdin_data.empty()) {
    if (absl::Status s = MakePipe(in_r, in_w); !s.ok()) return s;
    if (write(in_w.get(), spec.stdin_data.data(), spec.stdin_data.size()) !=
        static_cast<ssize_t>(spec.stdin_data.size())) {
      return ErrnoError(errno, "write stdin of", spec.argv[0]);
    }
    in_w.Reset();
  } else {
    in_r.Reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
  }
  if (absl::Status s = MakePipe(out_r, out_w); !s.ok()) return s;
  if (absl::Status s = MakePipe(err_r, err_w); !s.ok()) return s;

  std::vector<std::string> argv = spec.argv;
  std::vector<std::string> env = MergeEnv(spec.env);
  std::vector<char*> c_argv = CStrings(argv);
  std::vector<char*> c_env = CStrings(env);
  // posix_spawn (clone with CLONE_VM|CLONE_VFORK) rather than fork: fork copies the page
  // tables of the whole multi-threaded daemon before the exec, on every shim start.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
  if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);  // no handler of the daemon's survives
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);  // its own process group
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETPGROUP);
  pid_t pid = -1;
  const char* exec_path = spec.exec_path.empty() ? c_argv[0] : spec.exec_path.c_str();
  int spawn_errno = posix_spawn(&pid, exec_path, &actions, &attr, c_argv.data(), c_env.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_errno != 0) return ErrnoError(spawn_errno, "spawn", spec.argv[0]);
  ChildProcess child(pid);
  in_r.Reset();
  out_w.Reset();
  err_w.Reset();
  CommandOutput output;
  UniqueFd pid_fd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!Drain(out_r.get(), err_r.get(), pid_fd.get(), absl::Now() + spec.timeout, &output.out,
             &output.err)) {
    return absl::DeadlineExceededError(absl::StrCat(spec.argv[0], " ", spec.argv.back(),
                                                    ": timed out after ",
                                                    absl::FormatDuration(spec.timeout)));
  }
  output.wait_status = child.Wait();
  return output;
}

}  // namespace berth::runtime_v2
