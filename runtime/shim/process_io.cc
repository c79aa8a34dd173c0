#include "runtime/shim/process_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"

namespace berth::shim {
namespace {

absl::Status ClearNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return ErrnoError(errno, "fcntl");
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> OpenNull(int flags) {
  UniqueFd fd(open("/dev/null", flags | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, "open /dev/null");
  return fd;
}

// An output destination: "" (/dev/null), file:///path (appended), binary:// (unsupported), or
// a FIFO path the client reads. A FIFO without a reader yet is opened read-write, which never
// blocks (the client may open its side late).
absl::StatusOr<UniqueFd> OpenOutput(const std::string& uri, bool nonblock) {
  if (uri.empty()) return OpenNull(O_WRONLY);
  absl::string_view path = uri;
  if (absl::StartsWith(uri, "binary://")) {
    return absl::UnimplementedError(
        absl::StrCat("stdio ", uri, ": binary:// logging is not supported by berth-shim"));
  }
  if (absl::ConsumePrefix(&path, "file://")) {
    std::string file(path);
    RETURN_IF_ERROR(MkdirAll(file.substr(0, file.find_last_of('/')), 0755));
    UniqueFd fd(open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (!fd.valid()) return ErrnoError(errno, "open log file", file);
    return fd;
  }
  absl::ConsumePrefix(&path, "fifo://");
  if (absl::StrContains(path, "://")) {
    return absl::InvalidArgumentError(absl::StrCat("stdio ", uri, ": unsupported scheme"));
  }
  std::string fifo(path);
  UniqueFd fd(open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid() && errno == ENXIO) fd = UniqueFd(open(fifo.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, "open stdio", fifo);
  if (!nonblock) RETURN_IF_ERROR(ClearNonBlocking(fd.get()));
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProcessIo>> ProcessIo::Open(const StdioPaths& paths) {
  std::unique_ptr<ProcessIo> io(new ProcessIo());
  io->terminal_ = paths.terminal;
  if (!paths.in.empty()) {
    if (absl::StrContains(paths.in, "://")) {
      return absl::InvalidArgumentError(absl::StrCat("stdin ", paths.in, ": not a FIFO path"));
    }
    io->stdin_fifo_ = UniqueFd(open(paths.in.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!io->stdin_fifo_.valid()) return ErrnoError(errno, "open stdin", paths.in);
    if (!paths.terminal) {
      int fds[2];
      if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe for stdin");
      io->in_ = UniqueFd(fds[0]);
      io->stdin_pipe_ = UniqueFd(fds[1]);
    }
  } else if (!paths.terminal) {
    ASSIGN_OR_RETURN(io->in_, OpenNull(O_RDONLY));
  }
  ASSIGN_OR_RETURN(io->out_, OpenOutput(paths.out, paths.terminal));
  if (paths.terminal) return io;  // The pty is the process's stderr too.
  if (!paths.err.empty() && paths.err == paths.out) {
    io->err_ = UniqueFd(fcntl(io->out_.get(), F_DUPFD_CLOEXEC, 0));
    if (!io->err_.valid()) return ErrnoError(errno, "dup stdout");
  } else {
    ASSIGN_OR_RETURN(io->err_, OpenOutput(paths.err, false));
  }
  return io;
}

ProcessIo::~ProcessIo() = default;

ProcessStdio ProcessIo::ForProcess() const {
  return {in_.get(), out_.get(), err_.get(), terminal_};
}

void ProcessIo::Started(ttrpc::EventLoop* loop, UniqueFd console) {
  if (!terminal_) {
    in_.Reset();
    out_.Reset();
    err_.Reset();
    if (stdin_fifo_.valid()) {
      in_pump_ = Pump::Start(loop, std::move(stdin_fifo_), std::move(stdin_pipe_));
    }
    return;
  }
  console_ = std::move(console);
  if (!console_.valid()) return;
  if (stdin_fifo_.valid()) {
    in_pump_ = Pump::Start(loop, std::move(stdin_fifo_),
                           UniqueFd(fcntl(console_.get(), F_DUPFD_CLOEXEC, 0)));
  }
  out_pump_ = Pump::Start(loop, UniqueFd(fcntl(console_.get(), F_DUPFD_CLOEXEC, 0)), std::move(out_));
}

void ProcessIo::CloseStdin() {
  if (in_pump_ != nullptr) in_pump_->Drain();
  stdin_fifo_.Reset();
  stdin_pipe_.Reset();
}

void ProcessIo::Exited() {
  in_pump_.reset();
  stdin_fifo_.Reset();
  stdin_pipe_.Reset();
}

}  // namespace berth::shim
