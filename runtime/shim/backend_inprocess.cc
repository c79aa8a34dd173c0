// The default backend: berth::oci::Runtime in the shim's own process (no runc exec per verb).

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>

#include <map>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "runtime/oci/container.h"
#include "runtime/oci/linux/terminal.h"
#include "runtime/shim/backend.h"
#include "runtime/shim/preflight.h"

namespace berth::shim {
namespace {

// A socketpair for the console: the runtime sends the pty master on one end.
struct ConsolePair {
  UniqueFd ours, theirs;
};

absl::StatusOr<ConsolePair> NewConsolePair() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return ErrnoError(errno, "socketpair for the console");
  }
  return ConsolePair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

class InProcessBackend : public Backend {
 public:
  InProcessBackend(std::string root, const containerd::runc::v1::Options& options)
      : runtime_(std::move(root)), options_(options) {}

  absl::StatusOr<Launched> Create(const std::string& id, const std::string& bundle,
                                  const ProcessStdio& stdio, int ready_netns_fd) override {
    RETURN_IF_ERROR(MkdirAll(runtime_.store().root(), 0711));
    oci::CreateOptions options;
    options.bundle = bundle;
    options.no_pivot = options_.no_pivot_root();
    options.no_new_keyring = options_.no_new_keyring();
    options.stdio = {stdio.in, stdio.out, stdio.err};
    options.check_spec = CheckProcessExecutable;
    options.ready_netns_fd = ready_netns_fd;
    ConsolePair console;
    if (stdio.terminal) {
      ASSIGN_OR_RETURN(console, NewConsolePair());
      options.console_fd = console.theirs.get();
    }
    ASSIGN_OR_RETURN(oci::ContainerState state, runtime_.Create(id, options));
    created_id_ = id;
    created_cgroups_ = state.cgroup_paths;
    not_started_ = state;
    Launched launched{state.pid, {}};
    if (stdio.terminal) {
      console.theirs.Reset();
      absl::StatusOr<UniqueFd> master = oci::RecvFd(console.ours.get());
      if (!master.ok()) {
        (void)runtime_.Delete(id, /*force=*/true);
        return Annotate(master.status(), "receive the pty master");
      }
      launched.console = *std::move(master);
    }
    return launched;
  }

  absl::Status Start(const std::string& id) override {
    std::optional<oci::ContainerState> created;
    created.swap(not_started_);
    if (created.has_value() && created->id == id) return runtime_.Start(*std::move(created));
    return runtime_.Start(id);
  }

  absl::StatusOr<Launched> Exec(const std::string& id, const std::string& exec_id,
                                const std::string& process_json,
                                const ProcessStdio& stdio) override {
    oci::ExecOptions options;
    absl::StatusOr<oci::Process> process = oci::ParseProcess(process_json);
    if (!process.ok()) return Annotate(process.status(), absl::StrCat("exec ", exec_id, " spec"));
    options.process = *std::move(process);
    options.process.terminal = stdio.terminal;
    options.detach = true;
    options.stdio = {stdio.in, stdio.out, stdio.err};
    ConsolePair console;
    if (stdio.terminal) {
      ASSIGN_OR_RETURN(console, NewConsolePair());
      options.console_fd = console.theirs.get();
    }
    ASSIGN_OR_RETURN(oci::ExecResult result, runtime_.Exec(id, options));
    Launched launched{result.pid, {}};
    if (stdio.terminal) {
      console.theirs.Reset();
      absl::StatusOr<UniqueFd> master = oci::RecvFd(console.ours.get());
      if (!master.ok()) {
        kill(result.pid, SIGKILL);
        return Annotate(master.status(), "receive the exec pty master");
      }
      launched.console = *std::move(master);
    }
    return launched;
  }

  absl::Status Kill(const std::string& id, int signal, bool all) override {
    not_started_.reset();
    return runtime_.Kill(id, signal, all);
  }
  absl::Status Delete(const std::string& id) override {
    not_started_.reset();
    absl::Status status = runtime_.Delete(id, /*force=*/true);
    return absl::IsNotFound(status) ? absl::OkStatus() : status;
  }
  absl::Status Pause(const std::string& id) override {
    not_started_.reset();
    return runtime_.Pause(id);
  }
  absl::Status Resume(const std::string& id) override {
    not_started_.reset();
    return runtime_.Resume(id);
  }
  absl::Status Update(const std::string& id, const std::string& resources_json) override {
    ASSIGN_OR_RETURN(oci::Resources resources, oci::ParseResourcesJson(resources_json));
    return runtime_.Update(id, resources);
  }

  absl::StatusOr<std::unique_ptr<oci::CgroupManager>> Cgroup(const std::string& id) override {
    if (id == created_id_) return oci::LoadCgroupManager(created_cgroups_);
    ASSIGN_OR_RETURN(oci::ContainerState state, runtime_.State(id));
    return oci::LoadCgroupManager(state.cgroup_paths);
  }

 private:
  oci::Runtime runtime_;
  containerd::runc::v1::Options options_;
  // The cgroups of the container this backend created: the shim asks for them right after
  // create (OOM watch), and a container's cgroups do not move; reading them back from the
  // state file meant parsing it (~0.3 ms, with the whole spec in it).
  std::string created_id_;
  std::map<std::string, std::string> created_cgroups_;
  // What Create returned, until the Start that follows (parsing the state file back cost
  // 0.5 ms): this shim is the only one that drives the container, so the file says the same
  // unless something happened in between (a kill, a pause), which drops it.
  std::optional<oci::ContainerState> not_started_;
};

}  // namespace

std::unique_ptr<Backend> NewInProcessBackend(std::string root,
                                             const containerd::runc::v1::Options& options) {
  return std::make_unique<InProcessBackend>(std::move(root), options);
}

std::string RuntimeRoot(const containerd::runc::v1::Options& options, const std::string& ns) {
  if (!options.root().empty()) return JoinPath(options.root(), ns);
  return absl::StrCat("/run/containerd/", options.binary_name().empty() ? "berth" : "runc", "/",
                      ns);
}

std::unique_ptr<Backend> NewBackend(const containerd::runc::v1::Options& options,
                                    const std::string& ns, const std::string& bundle) {
  std::string root = RuntimeRoot(options, ns);
  if (options.binary_name().empty()) return NewInProcessBackend(std::move(root), options);
  return NewBinaryBackend(options.binary_name(), std::move(root), bundle, options);
}

}  // namespace berth::shim
