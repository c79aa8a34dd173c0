// The BinaryName backend: a runc-compatible runtime binary driven through runc's CLI, as
// containerd's runc shim does (create --bundle --pid-file --console-socket, start, kill,
// delete --force, exec --process --detach --pid-file, pause, resume, update --resources).
// Stats, pids and OOM events read the container's cgroup directly (no `runc events` process).

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "runtime/oci/linux/terminal.h"
#include "runtime/oci/spec.h"
#include "runtime/shim/backend.h"
#include "runtime/shim/preflight.h"

namespace berth::shim {
namespace {

// The last line of the runtime's log, for error messages.
std::string LastLogLine(const std::string& log_path) {
  absl::StatusOr<std::string> text = ReadFile(log_path);
  if (!text.ok()) return "";
  absl::string_view view = absl::StripTrailingAsciiWhitespace(*text);
  size_t nl = view.rfind('\n');
  return std::string(nl == absl::string_view::npos ? view : view.substr(nl + 1));
}

// A listening console socket at a fresh path; runc connects and sends the pty master.
class ConsoleSocket {
 public:
  static absl::StatusOr<ConsoleSocket> Listen() {
    static std::atomic<int> counter{0};
    ConsoleSocket socket;
    socket.path_ = absl::StrCat("/tmp/berth-shim-pty-", getpid(), "-", counter++, ".sock");
    unlink(socket.path_.c_str());
    socket.fd_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!socket.fd_.valid()) return ErrnoError(errno, "console socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, socket.path_.c_str(), socket.path_.size() + 1);
    if (bind(socket.fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(socket.fd_.get(), 1) != 0) {
      return ErrnoError(errno, "listen on console socket", socket.path_);
    }
    return socket;
  }
  ConsoleSocket() = default;
  ConsoleSocket(ConsoleSocket&&) = default;
  ConsoleSocket& operator=(ConsoleSocket&&) = default;
  ~ConsoleSocket() {
    if (!path_.empty() && fd_.valid()) unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

  // After the runtime returned: the master is already queued on the connection.
  absl::StatusOr<UniqueFd> ReceiveMaster() {
    UniqueFd conn(accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!conn.valid()) return ErrnoError(errno, "accept on console socket (runtime sent no pty)");
    int flags = fcntl(conn.get(), F_GETFL);
    fcntl(conn.get(), F_SETFL, flags & ~O_NONBLOCK);
    return oci::RecvFd(conn.get());
  }

 private:
  std::string path_;
  UniqueFd fd_;
};

class BinaryBackend : public Backend {
 public:
  BinaryBackend(std::string binary, std::string root, std::string bundle,
                const containerd::runc::v1::Options& options)
      : binary_(std::move(binary)), root_(std::move(root)), options_(options),
        bundle_(std::move(bundle)) {}

  // A runc-compatible binary has no way to be handed a namespace made ahead: it is not used.
  absl::StatusOr<Launched> Create(const std::string& id, const std::string& bundle,
                                  const ProcessStdio& stdio, int /*ready_netns_fd*/) override {
    RETURN_IF_ERROR(CheckBundleExecutable(bundle));  // runc would fail only at start
    std::string pid_file = JoinPath(bundle, "init.pid");
    std::vector<std::string> args = {"create", "--bundle", bundle, "--pid-file", pid_file};
    if (options_.no_pivot_root()) args.push_back("--no-pivot");
    if (options_.no_new_keyring()) args.push_back("--no-new-keyring");
    return Launch(args, id, pid_file, stdio);
  }

  absl::Status Start(const std::string& id) override { return Run({"start", id}); }

  absl::StatusOr<Launched> Exec(const std::string& id, const std::string& exec_id,
                                const std::string& process_json,
                                const ProcessStdio& stdio) override {
    std::string process_file = JoinPath(bundle_, absl::StrCat(".exec-", exec_id, ".json"));
    std::string pid_file = JoinPath(bundle_, absl::StrCat(".exec-", exec_id, ".pid"));
    RETURN_IF_ERROR(WriteFileReplace(process_file, process_json, 0600));
    absl::StatusOr<Launched> launched = Launch(
        {"exec", "--process", process_file, "--detach", "--pid-file", pid_file}, id, pid_file,
        stdio);
    unlink(process_file.c_str());
    unlink(pid_file.c_str());
    return launched;
  }

  absl::Status Kill(const std::string& id, int signal, bool all) override {
    std::vector<std::string> args = {"kill"};
    if (all) args.push_back("--all");
    args.push_back(id);
    args.push_back(absl::StrCat(signal));
    return Run(args);
  }
  absl::Status Delete(const std::string& id) override {
    absl::Status status = Run({"delete", "--force", id});
    if (!status.ok() && status.message().find("not exist") != absl::string_view::npos) {
      return absl::OkStatus();
    }
    return status;
  }
  absl::Status Pause(const std::string& id) override { return Run({"pause", id}); }
  absl::Status Resume(const std::string& id) override { return Run({"resume", id}); }
  absl::Status Update(const std::string& id, const std::string& resources_json) override {
    std::string file = JoinPath(bundle_, ".update.json");
    RETURN_IF_ERROR(WriteFileReplace(file, resources_json, 0600));
    absl::Status status = Run({"update", "--resources", file, id});
    unlink(file.c_str());
    return status;
  }

  absl::StatusOr<std::unique_ptr<oci::CgroupManager>> Cgroup(const std::string& id) override {
    ASSIGN_OR_RETURN(oci::Spec spec, oci::LoadBundleSpec(bundle_));
    return oci::NewCgroupManager(spec.linux.cgroups_path, id);
  }

 private:
  absl::StatusOr<Launched> Launch(std::vector<std::string> args, const std::string& id,
                                  const std::string& pid_file, const ProcessStdio& stdio) {
    std::optional<ConsoleSocket> console;
    if (stdio.terminal) {
      ASSIGN_OR_RETURN(console, ConsoleSocket::Listen());
      args.push_back("--console-socket");
      args.push_back(console->path());
    }
    args.push_back(id);
    RETURN_IF_ERROR(Run(args, stdio));
    Launched launched;
    ASSIGN_OR_RETURN(std::string pid_text, ReadFile(pid_file));
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(pid_text), &launched.pid)) {
      return absl::InternalError(absl::StrCat("bad pid file ", pid_file));
    }
    if (console) {
      absl::StatusOr<UniqueFd> master = console->ReceiveMaster();
      if (!master.ok()) {
        kill(launched.pid, SIGKILL);
        return master.status();
      }
      launched.console = *std::move(master);
    }
    return launched;
  }

  // Runs `binary --root R --log L args...` with `stdio` and waits for it.
  absl::Status Run(const std::vector<std::string>& args, const ProcessStdio& stdio = {}) {
    std::string log = JoinPath(bundle_, "runtime.log");
    std::vector<std::string> argv = {binary_, "--root", root_, "--log", log};
    if (options_.systemd_cgroup()) argv.push_back("--systemd-cgroup");
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (std::string& arg : argv) cargv.push_back(arg.data());
    cargv.push_back(nullptr);
    truncate(log.c_str(), 0);
    pid_t pid = fork();
    if (pid < 0) return ErrnoError(errno, "fork", binary_);
    if (pid == 0) {
      sigset_t all;
      sigfillset(&all);
      sigprocmask(SIG_UNBLOCK, &all, nullptr);
      int null = open("/dev/null", O_RDWR);
      dup2(stdio.in >= 0 ? stdio.in : null, 0);
      dup2(stdio.out >= 0 ? stdio.out : null, 1);
      dup2(stdio.err >= 0 ? stdio.err : null, 2);
      execvp(cargv[0], cargv.data());
      _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
    std::string detail = LastLogLine(log);
    return absl::UnknownError(absl::StrCat(binary_, " ", args.front(), " failed (status ",
                                           status, ")", detail.empty() ? "" : ": ", detail));
  }

  std::string binary_;
  std::string root_;
  containerd::runc::v1::Options options_;
  std::string bundle_;
};

}  // namespace

std::unique_ptr<Backend> NewBinaryBackend(std::string binary, std::string root,
                                          std::string bundle,
                                          const containerd::runc::v1::Options& options) {
  return std::make_unique<BinaryBackend>(std::move(binary), std::move(root), std::move(bundle),
                                         options);
}

}  // namespace berth::shim
