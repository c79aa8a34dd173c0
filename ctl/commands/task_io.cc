#include "ctl/commands/task_io.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ctl/commands/container_util.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"

namespace berth::ctl {
namespace {

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

absl::StatusOr<UniqueFd> OpenFifo(const std::string& path, int flags) {
  UniqueFd fd(open(path.c_str(), flags | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, "open", path);
  return fd;
}

constexpr const char* kStreams[] = {"stdin", "stdout", "stderr"};

std::string FifoPath(const std::string& prefix, const char* stream) {
  return absl::StrCat(prefix, "-", stream);
}

// Makes kFifoRoot/<name>-XXXXXX-stdout with a random XXXXXX no other process has: every
// process's stdout FIFO is made first, so holding it reserves the prefix. Returns the prefix.
absl::StatusOr<std::string> MakeStdoutFifo(const std::string& name) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string prefix = absl::StrCat(kFifoRoot, "/", name, "-", NewContainerId().substr(0, 6));
    std::string path = FifoPath(prefix, "stdout");
    if (mkfifo(path.c_str(), 0700) == 0) return prefix;
    if (errno != EEXIST) return ErrnoError(errno, "mkfifo", path);
  }
  return absl::AlreadyExistsError(absl::StrCat("no free FIFO name for ", name));
}

void RemoveFifos(const std::string& prefix) {
  for (const char* stream : kStreams) unlink(FifoPath(prefix, stream).c_str());
}

}  // namespace

void RemoveFifosOf(const std::string& fifo_path) {
  if (!absl::StartsWith(fifo_path, absl::StrCat(kFifoRoot, "/"))) return;
  std::string dir = fifo_path.substr(0, fifo_path.rfind('/'));
  if (dir == kFifoRoot) {
    RemoveFifos(fifo_path.substr(0, fifo_path.rfind('-')));
    return;
  }
  // An older berthctl's layout: <kFifoRoot>/<ns>/<id12>-XXXXXX/<stream>.
  (void)RemoveAll(dir);
  (void)rmdir(dir.substr(0, dir.rfind('/')).c_str());  // the namespace's, once empty
}

absl::StatusOr<std::unique_ptr<TaskIO>> TaskIO::Create(const std::string& ns,
                                                       const std::string& name, bool with_stdin,
                                                       bool terminal) {
  RETURN_IF_ERROR(MkdirAll(kFifoRoot, 0700));
  std::unique_ptr<TaskIO> io(new TaskIO());
  ASSIGN_OR_RETURN(io->prefix_, MakeStdoutFifo(NamespacedName(ns, name.substr(0, 12))));
  io->stdout_path_ = FifoPath(io->prefix_, "stdout");
  if (with_stdin) io->stdin_path_ = FifoPath(io->prefix_, "stdin");
  if (!terminal) io->stderr_path_ = FifoPath(io->prefix_, "stderr");
  for (const std::string* path : {&io->stdin_path_, &io->stderr_path_}) {
    if (!path->empty() && mkfifo(path->c_str(), 0700) != 0) {
      return ErrnoError(errno, "mkfifo", *path);
    }
  }
  RETURN_IF_ERROR(io->Open(with_stdin));
  return io;
}

absl::StatusOr<std::unique_ptr<TaskIO>> TaskIO::Attach(const std::string& stdin_path,
                                                       const std::string& stdout_path,
                                                       const std::string& stderr_path) {
  for (const std::string& path : {stdin_path, stdout_path, stderr_path}) {
    if (!path.empty() && !absl::StartsWith(path, absl::StrCat(kFifoRoot, "/"))) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot attach: the task's stdio `", path, "` is not a berthctl FIFO"));
    }
  }
  if (stdout_path.empty()) {
    return absl::FailedPreconditionError("cannot attach: the task has no stdio FIFOs");
  }
  std::unique_ptr<TaskIO> io(new TaskIO());
  io->stdin_path_ = stdin_path;
  io->stdout_path_ = stdout_path;
  io->stderr_path_ = stderr_path;
  RETURN_IF_ERROR(io->Open(!stdin_path.empty()));
  return io;
}

absl::Status TaskIO::Open(bool with_stdin) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe");
  cancel_read_.Reset(pipe_fds[0]);
  cancel_write_.Reset(pipe_fds[1]);
  ASSIGN_OR_RETURN(stdout_fd_, OpenFifo(stdout_path_, O_RDONLY | O_NONBLOCK));
  if (!stderr_path_.empty()) {
    ASSIGN_OR_RETURN(stderr_fd_, OpenFifo(stderr_path_, O_RDONLY | O_NONBLOCK));
  }
  if (with_stdin) {
    ASSIGN_OR_RETURN(stdin_fd_, OpenFifo(stdin_path_, O_RDWR | O_NONBLOCK));
  }
  return absl::OkStatus();
}

TaskIO::~TaskIO() {
  Finish(std::chrono::milliseconds(0));
  if (!prefix_.empty()) RemoveFifos(prefix_);
}

bool TaskIO::Cancelled() const { return !cancel_write_.valid(); }

void TaskIO::StartCopy(std::function<void()> on_stdin_eof) {
  {
    std::lock_guard<std::mutex> lock(outputs_mu_);
    outputs_ended_ = false;
  }
  threads_.emplace_back([this] { CopyOutputs(); });
  if (stdin_fd_.valid()) {
    threads_.emplace_back([this, on_stdin_eof] { CopyIn(on_stdin_eof); });
  }
}

void TaskIO::CopyOutputs() {
  // One thread for both streams: a thread costs more than a run's whole output.
  struct Output {
    int from, to;
  } outputs[2] = {{stdout_fd_.get(), STDOUT_FILENO}, {stderr_fd_.get(), STDERR_FILENO}};
  char buffer[32 * 1024];
  while (outputs[0].from >= 0 || outputs[1].from >= 0) {
    // poll ignores negative fds: a stream that ended (or was never there) drops out.
    struct pollfd fds[3] = {{outputs[0].from, POLLIN, 0},
                            {outputs[1].from, POLLIN, 0},
                            {cancel_read_.get(), POLLIN, 0}};
    if (poll(fds, 3, -1) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      ssize_t n = read(outputs[i].from, buffer, sizeof(buffer));
      if (n > 0 && WriteAll(outputs[i].to, buffer, static_cast<size_t>(n))) continue;
      // The writer is gone (0), ours failed (n > 0 not all written), or a real read error.
      if (n >= 0 || (errno != EAGAIN && errno != EINTR)) outputs[i].from = -1;
    }
    if (fds[2].revents != 0) break;
  }
  std::lock_guard<std::mutex> lock(outputs_mu_);
  outputs_ended_ = true;
  outputs_done_.notify_all();
}

void TaskIO::CopyIn(std::function<void()> on_stdin_eof) {
  char buffer[32 * 1024];
  bool eof = false;
  while (!eof) {
    struct pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {cancel_read_.get(), POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    ssize_t n = read(STDIN_FILENO, buffer, sizeof(buffer));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      eof = true;
      break;
    }
    size_t done = 0;
    while (done < static_cast<size_t>(n)) {
      struct pollfd out[2] = {{stdin_fd_.get(), POLLOUT, 0}, {cancel_read_.get(), POLLIN, 0}};
      if (poll(out, 2, -1) < 0 && errno != EINTR) return;
      if (out[1].revents != 0) return;
      ssize_t w = write(stdin_fd_.get(), buffer + done, static_cast<size_t>(n) - done);
      if (w > 0) done += static_cast<size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EINTR) return;
    }
  }
  stdin_fd_.Reset();  // the task reads EOF once its FIFO has no writer left
  if (on_stdin_eof) on_stdin_eof();
}

void TaskIO::Finish(std::chrono::milliseconds drain) {
  {
    std::unique_lock<std::mutex> lock(outputs_mu_);
    outputs_done_.wait_for(lock, drain, [this] { return outputs_ended_; });
  }
  cancel_write_.Reset();  // wakes every poll with POLLHUP on the read end
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

void TaskIO::Detach() {
  Finish(std::chrono::milliseconds(0));
  prefix_.clear();
}

RawTerminal::RawTerminal() {
  if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_) != 0) return;
  struct termios raw = saved_;
  cfmakeraw(&raw);
  raw.c_oflag |= OPOST;  // keep "\n" -> "\r\n" for our own messages
  active_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
}

RawTerminal::~RawTerminal() {
  if (active_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
}

bool TerminalSize(uint32_t* width, uint32_t* height) {
  struct winsize size {};
  if (ioctl(STDIN_FILENO, TIOCGWINSZ, &size) != 0 && ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) != 0) {
    return false;
  }
  *width = size.ws_col;
  *height = size.ws_row;
  return size.ws_col > 0 && size.ws_row > 0;
}

namespace {

constexpr int kForwarded[] = {SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
int g_signal_pipe[2] = {-1, -1};

void OnSignal(int signal) {
  int saved = errno;
  unsigned char byte = static_cast<unsigned char>(signal);
  (void)!write(g_signal_pipe[1], &byte, 1);
  errno = saved;
}

}  // namespace

SignalForwarder::SignalForwarder(std::function<void()> on_resize,
                                 std::function<void(int)> on_signal)
    : on_resize_(std::move(on_resize)), on_signal_(std::move(on_signal)) {
  if (pipe2(g_signal_pipe, O_CLOEXEC) != 0) return;
  struct sigaction action {};
  action.sa_handler = OnSignal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (int signal : kForwarded) sigaction(signal, &action, nullptr);
  int read_fd = g_signal_pipe[0];
  thread_ = std::thread([this, read_fd] {
    unsigned char byte;
    while (read(read_fd, &byte, 1) == 1) {
      if (byte == 0) return;  // the destructor's stop byte
      if (byte == SIGWINCH) {
        if (on_resize_) on_resize_();
      } else if (on_signal_) {
        on_signal_(byte);
      }
    }
  });
}

SignalForwarder::~SignalForwarder() {
  if (g_signal_pipe[1] < 0) return;
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  for (int signal : kForwarded) sigaction(signal, &action, nullptr);
  unsigned char stop = 0;
  (void)!write(g_signal_pipe[1], &stop, 1);
  if (thread_.joinable()) thread_.join();
  close(g_signal_pipe[0]);
  close(g_signal_pipe[1]);
  g_signal_pipe[0] = g_signal_pipe[1] = -1;
}

}  // namespace berth::ctl
