// `berth-shim start`: the shim v2 start protocol (containerd's runtime/v2/shim/shim.go).

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_util.h"
#include "runtime/shim/shim_main.h"
#include "runtime/ttrpc/socket.h"

namespace berth::shim {
namespace {

constexpr char kSocketDir[] = "/run/containerd/s";

uint64_t Fnv1a(absl::string_view text, uint64_t seed) {
  uint64_t hash = seed;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

// unix:///run/containerd/s/<hash of daemon address, namespace and id>: short enough for
// sun_path, unique per daemon and task, stable across restarts.
std::string SocketAddress(const Flags& flags) {
  std::string key = absl::StrCat(flags.address, "/", flags.ns, "/", flags.id);
  return absl::StrFormat("unix://%s/%016x%016x", kSocketDir, Fnv1a(key, 14695981039346656037ULL),
                         Fnv1a(key, 1469598103934665603ULL));
}

std::string ReadAllStdin() {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(0, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

int Fail(const absl::Status& status) {
  fprintf(stderr, "berth-shim start: %s\n", status.ToString().c_str());
  return 1;
}

// The server's stdio: nothing on stdin/stdout (the daemon reads `start`'s stdout to EOF), the
// bundle's log FIFO on stderr when the daemon holds it open.
void RedirectServerStdio(const std::string& bundle) {
  int null = open("/dev/null", O_RDWR);
  dup2(null, 0);
  dup2(null, 1);
  dup2(null, 2);
  if (null > 2) close(null);
  RedirectStderrToLog(bundle);
}

}  // namespace

void RedirectStderrToLog(const std::string& bundle) {
  // Non-blocking open: fails (ENXIO) instead of waiting when nobody reads the FIFO.
  int log_fd = open(JoinPath(bundle, "log").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (log_fd < 0) return;
  fcntl(log_fd, F_SETFL, fcntl(log_fd, F_GETFL) & ~O_NONBLOCK);
  if (log_fd == STDERR_FILENO) return;  // fd 2 was closed: the log took its place
  dup2(log_fd, STDERR_FILENO);
  close(log_fd);
}

int RunStart(const Flags& flags) {
  if (flags.spare) {
    // A spare starts while other work runs (on two cores, a client's own start): it gets the
    // CPU only when nothing else wants it. Adopt puts it back before it makes a container.
    sched_param none{};
    (void)sched_setscheduler(0, SCHED_IDLE, &none);
  }
  std::string options = ReadAllStdin();
  std::string address = SocketAddress(flags);
  absl::StatusOr<std::string> path = ttrpc::SocketPath(address);
  if (!path.ok()) return Fail(path.status());
  if (absl::Status made = MkdirAll(kSocketDir, 0711); !made.ok()) return Fail(made);
  if (PathExists(*path)) {
    if (ttrpc::ConnectUnix(address).ok()) {
      return Fail(AlreadyExists(absl::StrCat("a shim is already serving ", address)));
    }
    unlink(path->c_str());  // Stale: its shim is gone.
  }
  absl::StatusOr<UniqueFd> listener = ttrpc::ListenUnix(address);
  if (!listener.ok()) return Fail(listener.status());
  if (absl::Status written = WriteFileReplace(JoinPath(flags.bundle, "address"), address, 0600);
      !written.ok()) {
    unlink(path->c_str());
    return Fail(written);
  }
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    unlink(path->c_str());
    return Fail(ErrnoError(errno, "fork the shim server"));
  }
  if (pid == 0) {
    setsid();
    RedirectServerStdio(flags.bundle);
    _exit(RunServer(flags, *std::move(listener), std::move(options)));
  }
  (void)WriteFileReplace(JoinPath(flags.bundle, "shim.pid"), absl::StrCat(pid), 0600);
  printf("%s", address.c_str());
  fflush(stdout);
  return 0;
}

}  // namespace berth::shim
