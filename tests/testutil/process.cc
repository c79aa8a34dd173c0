#include "tests/testutil/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

extern char** environ;

namespace berth::testutil {
namespace {

using Clock = std::chrono::steady_clock;

absl::Status Errno(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", strerror(errno)));
}

// argv[0] resolved against PATH in the parent, so the child only needs execve.
std::string ResolveProgram(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", program);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return program;
}

std::vector<std::string> MergedEnvironment(const std::vector<std::string>& extra) {
  std::map<std::string, std::string> entries;
  std::vector<std::string> order;
  auto add = [&](const std::string& entry) {
    std::string key = entry.substr(0, entry.find('='));
    if (!entries.contains(key)) order.push_back(key);
    entries[key] = entry;
  };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) add(*e);
  for (const std::string& entry : extra) add(entry);
  std::vector<std::string> out;
  for (const std::string& key : order) out.push_back(entries[key]);
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Reads what is available from `fd` into `out`; false at EOF or on a hard error.
bool Drain(int fd, std::string& out) {
  char buffer[65536];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      out.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;  // EOF or error
  }
}

int MillisUntil(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

std::string DescribeWaitStatus(int status) {
  if (status < 0) return "not reaped";
  if (WIFEXITED(status)) return absl::StrCat("exited ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("killed by signal ", WTERMSIG(status));
  return absl::StrCat("wait status ", status);
}

std::string CommandResult::Describe() const {
  std::string how = timed_out ? "timed out"
                    : term_signal != 0 ? absl::StrCat("killed by signal ", term_signal)
                                       : absl::StrCat("exited ", exit_code);
  return absl::StrCat("`", argv_text, "` ", how, "\n--- stdout ---\n", out, "\n--- stderr ---\n",
                      err);
}

absl::StatusOr<pid_t> SpawnProcess(const std::vector<std::string>& argv, int stdin_fd,
                                   int stdout_fd, int stderr_fd,
                                   const std::vector<std::string>& env) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  // Everything the child needs is prepared here: after fork it may not allocate.
  std::string program = ResolveProgram(argv[0]);
  std::vector<std::string> args = argv;
  std::vector<char*> c_args = CStrings(args);
  std::vector<std::string> environment = MergedEnvironment(env);
  std::vector<char*> c_env = CStrings(environment);
  int dev_null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (dev_null < 0) return Errno("open /dev/null");
  int fds[3] = {stdin_fd < 0 ? dev_null : stdin_fd, stdout_fd < 0 ? dev_null : stdout_fd,
                stderr_fd < 0 ? dev_null : stderr_fd};
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(dev_null);
    return Errno("fork");
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, nullptr);
    // Move the fds out of 0..2 first so that dup2 below cannot clobber a source.
    int high[3];
    for (int i = 0; i < 3; ++i) high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
    for (int i = 0; i < 3; ++i) {
      if (high[i] < 0 || dup2(high[i], i) < 0) _exit(126);
    }
    close_range(3, ~0U, 0);
    execve(program.c_str(), c_args.data(), c_env.data());
    _exit(127);
  }
  close(dev_null);
  return pid;
}

std::optional<int> WaitForExit(pid_t pid, std::chrono::milliseconds timeout) {
  Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -1;  // not our child (already reaped)
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int StopProcess(pid_t pid, int signal, std::chrono::milliseconds grace) {
  kill(pid, signal);
  std::optional<int> status = WaitForExit(pid, grace);
  if (status) return *status;
  kill(pid, SIGKILL);
  int raw = -1;
  while (waitpid(pid, &raw, 0) < 0 && errno == EINTR) {
  }
  return raw;
}

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const RunOptions& options) {
  // A child that closes its stdin early must not kill the test with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  CommandResult result;
  result.argv_text = absl::StrJoin(argv, " ");
  int in[2] = {-1, -1}, out[2], err[2];
  if (options.stdin_data && pipe2(in, O_CLOEXEC) != 0) return Errno("pipe");
  if (pipe2(out, O_CLOEXEC) != 0) return Errno("pipe");
  if (pipe2(err, O_CLOEXEC) != 0) return Errno("pipe");
  absl::StatusOr<pid_t> pid = SpawnProcess(argv, in[0], out[1], err[1], options.env);
  if (in[0] >= 0) close(in[0]);
  close(out[1]);
  close(err[1]);
  if (!pid.ok()) {
    if (in[1] >= 0) close(in[1]);
    close(out[0]);
    close(err[0]);
    return pid.status();
  }
  SetNonBlocking(out[0]);
  SetNonBlocking(err[0]);
  size_t written = 0;
  if (in[1] >= 0) SetNonBlocking(in[1]);
  if (in[1] >= 0 && options.stdin_data->empty()) {
    close(in[1]);
    in[1] = -1;
  }
  Clock::time_point deadline = Clock::now() + options.timeout;
  bool out_open = true, err_open = true;
  while ((out_open || err_open) && !result.timed_out) {
    pollfd fds[3];
    int n = 0;
    int out_index = -1, err_index = -1, in_index = -1;
    if (out_open) fds[out_index = n++] = {out[0], POLLIN, 0};
    if (err_open) fds[err_index = n++] = {err[0], POLLIN, 0};
    if (in[1] >= 0) fds[in_index = n++] = {in[1], POLLOUT, 0};
    int ready = poll(fds, static_cast<nfds_t>(n), MillisUntil(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0 && Clock::now() >= deadline) {
      result.timed_out = true;
      break;
    }
    if (out_index >= 0 && fds[out_index].revents != 0) out_open = Drain(out[0], result.out);
    if (err_index >= 0 && fds[err_index].revents != 0) err_open = Drain(err[0], result.err);
    if (in_index >= 0 && fds[in_index].revents != 0) {
      const std::string& data = *options.stdin_data;
      ssize_t w = write(in[1], data.data() + written, data.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == data.size()) {
        close(in[1]);
        in[1] = -1;
      }
    }
  }
  if (in[1] >= 0) close(in[1]);
  std::optional<int> status;
  if (!result.timed_out) status = WaitForExit(*pid, std::chrono::milliseconds(MillisUntil(deadline)));
  if (!status) {
    result.timed_out = true;
    status = StopProcess(*pid, SIGKILL, std::chrono::seconds(10));
  }
  Drain(out[0], result.out);
  Drain(err[0], result.err);
  close(out[0]);
  close(err[0]);
  if (WIFEXITED(*status)) result.exit_code = WEXITSTATUS(*status);
  if (WIFSIGNALED(*status)) result.term_signal = WTERMSIG(*status);
  return result;
}

absl::StatusOr<std::unique_ptr<BackgroundProcess>> BackgroundProcess::Start(
    const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Errno("pipe");
  if (pipe2(err, O_CLOEXEC) != 0) return Errno("pipe");
  absl::StatusOr<pid_t> pid = SpawnProcess(argv, -1, out[1], err[1], env);
  close(out[1]);
  close(err[1]);
  if (!pid.ok()) {
    close(out[0]);
    close(err[0]);
    return pid.status();
  }
  return std::unique_ptr<BackgroundProcess>(new BackgroundProcess(*pid, out[0], err[0]));
}

BackgroundProcess::BackgroundProcess(pid_t pid, int out_fd, int err_fd) : pid_(pid) {
  if (pipe2(wake_fd_, O_CLOEXEC) != 0) wake_fd_[0] = wake_fd_[1] = -1;
  reader_ = std::thread([this, out_fd, err_fd] { ReadLoop(out_fd, err_fd); });
}

BackgroundProcess::~BackgroundProcess() {
  if (!reaped_) Kill(SIGKILL);
  if (wake_fd_[1] >= 0) close(wake_fd_[1]);
  reader_.join();
  if (wake_fd_[0] >= 0) close(wake_fd_[0]);
}

void BackgroundProcess::ReadLoop(int out_fd, int err_fd) {
  SetNonBlocking(out_fd);
  SetNonBlocking(err_fd);
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    pollfd fds[3] = {{out_open ? out_fd : -1, POLLIN, 0},
                     {err_open ? err_fd : -1, POLLIN, 0},
                     {wake_fd_[0], POLLIN, 0}};
    int ready = poll(fds, 3, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    std::string out_chunk, err_chunk;
    if (fds[0].revents != 0) out_open = Drain(out_fd, out_chunk);
    if (fds[1].revents != 0) err_open = Drain(err_fd, err_chunk);
    {
      std::lock_guard<std::mutex> lock(mu_);
      out_ += out_chunk;
      err_ += err_chunk;
    }
    cv_.notify_all();
    if (fds[2].revents != 0) break;  // destructor: stop reading
  }
  close(out_fd);
  close(err_fd);
  {
    std::lock_guard<std::mutex> lock(mu_);
    eof_ = true;
  }
  cv_.notify_all();
}

bool BackgroundProcess::WaitForStdout(const std::string& text, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return out_.find(text) != std::string::npos || eof_; }) &&
         out_.find(text) != std::string::npos;
}

bool BackgroundProcess::WaitForAnyOutput(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return !out_.empty() || !err_.empty() || eof_; }) &&
         (!out_.empty() || !err_.empty());
}

std::string BackgroundProcess::Stdout() const {
  std::lock_guard<std::mutex> lock(mu_);
  return out_;
}

std::string BackgroundProcess::Stderr() const {
  std::lock_guard<std::mutex> lock(mu_);
  return err_;
}

int BackgroundProcess::Kill(int signal, bool wait, std::chrono::milliseconds grace) {
  if (reaped_) return wait_status_;
  if (!wait) {
    kill(pid_, signal);
    return -1;
  }
  wait_status_ = StopProcess(pid_, signal, grace);
  reaped_ = true;
  return wait_status_;
}

bool BackgroundProcess::Running() {
  if (reaped_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    reaped_ = true;
    wait_status_ = status;
    return false;
  }
  return true;
}

CommandResult RunCtr(const std::string& address, const std::string& ns,
                     const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/ctr", "-a", address, "-n", ns};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<CommandResult> result = RunCommand(
      argv, {.timeout = std::chrono::seconds(30),
             .env = {"CONTAINERD_ADDRESS=", "CONTAINERD_NAMESPACE="}});
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : CommandResult{};
}

}  // namespace berth::testutil
