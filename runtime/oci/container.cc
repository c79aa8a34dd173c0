// Create, Start and Run: the parent side of the container's birth.

#include "runtime/oci/container.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "plugins/base/file_util.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"
#include "plugins/base/utc_time.h"
#include "runtime/oci/container_internal.h"
#include "runtime/oci/init.h"
#include "runtime/oci/linux/hooks.h"
#include "runtime/oci/linux/namespaces.h"
#include "runtime/oci/linux/prefault.h"
#include "runtime/oci/linux/security.h"
#include "runtime/oci/linux/terminal.h"
#include "runtime/oci/sync.h"

namespace berth::oci {

namespace {

absl::StatusOr<std::string> AbsolutePath(const std::string& path, absl::string_view what) {
  char buf[PATH_MAX];
  if (realpath(path.empty() ? "." : path.c_str(), buf) == nullptr) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat(what, " `", path, "` does not exist"));
    }
    return ErrnoError(errno, absl::StrCat("resolve ", what), path);
  }
  return std::string(buf);
}

// sockaddr for `path`, going through /proc/self/fd/<dirfd> when the path is too long.
absl::StatusOr<sockaddr_un> UnixAddress(const std::string& dir, const std::string& name,
                                        UniqueFd* dir_fd) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = absl::StrCat(dir, "/", name);
  if (path.size() >= sizeof(addr.sun_path)) {
    dir_fd->Reset(open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir_fd->valid()) return ErrnoError(errno, "open", dir);
    path = absl::StrCat("/proc/self/fd/", dir_fd->get(), "/", name);
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

absl::StatusOr<UniqueFd> ListenStartSocket(const std::string& dir) {
  UniqueFd dir_fd;
  ASSIGN_OR_RETURN(sockaddr_un addr, UnixAddress(dir, kStartSocket, &dir_fd));
  UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoError(errno, "socket");
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoError(errno, "bind start socket in", dir);
  }
  if (listen(fd.get(), 4) != 0) return ErrnoError(errno, "listen on start socket");
  return fd;
}

absl::Status WritePidFile(const std::string& path, pid_t pid) {
  if (path.empty()) return absl::OkStatus();
  std::string tmp = absl::StrCat(path, ".tmp");
  UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoError(errno, "open pid file", tmp);
  std::string text = absl::StrCat(pid);
  if (write(fd.get(), text.data(), text.size()) < 0) return ErrnoError(errno, "write", tmp);
  RETURN_IF_ERROR(fd.Close());
  if (rename(tmp.c_str(), path.c_str()) != 0) return ErrnoError(errno, "rename", path);
  return absl::OkStatus();
}

int SpecNamespaces(const Spec& spec) {
  int flags = 0;
  for (const Namespace& ns : spec.linux.namespaces) flags |= ns.type;
  return flags;
}

// Clones the init with the new namespaces; the child never returns from here. The child
// copies the parent's resident pages at once, not one fault at a time (linux/prefault.h).
absl::StatusOr<pid_t> CloneInit(const InitContext& ctx, int parent_fd) {
  const std::vector<MemoryRange> written_soon = ResidentWritableRanges();
  int flags = NewNamespaceFlags(ctx.spec->linux) | SIGCHLD;
  if (ctx.ready_netns_fd >= 0) flags &= ~CLONE_NEWNET;  // joined in Setup instead
  pid_t pid = static_cast<pid_t>(syscall(SYS_clone, flags, nullptr, nullptr, nullptr, nullptr));
  if (pid < 0) {
    return ErrnoError(errno, "clone container init");
  }
  if (pid == 0) {
    CopyInAdvance(written_soon);
    close(parent_fd);
    RunInit(ctx);
  }
  return pid;
}

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// Reads and checks everything create needs before touching the system.
absl::Status LoadBundle(const CreateOptions& options, const std::string& seccomp_cache,
                        Runtime::Launch* launch) {
  ASSIGN_OR_RETURN(launch->bundle, AbsolutePath(options.bundle, "bundle"));
  ASSIGN_OR_RETURN(launch->config_json, ReadFile(JoinPath(launch->bundle, "config.json")));
  ASSIGN_OR_RETURN(launch->spec, ParseSpec(launch->config_json));
  const Spec& spec = launch->spec;
  RETURN_IF_ERROR(ValidateSpec(spec));
  std::string root =
      spec.root.path[0] == '/' ? spec.root.path : JoinPath(launch->bundle, spec.root.path);
  ASSIGN_OR_RETURN(launch->rootfs, AbsolutePath(root, "rootfs"));
  if (options.check_spec) RETURN_IF_ERROR(options.check_spec(spec, launch->rootfs));
  if (spec.linux.seccomp) {
    ASSIGN_OR_RETURN(launch->seccomp, CompileSeccomp(*spec.linux.seccomp, seccomp_cache));
  }
  if (spec.process->terminal && options.console_fd < 0 && options.console_socket.empty()) {
    return absl::InvalidArgumentError(
        "cannot allocate a tty without --console-socket (process.terminal is true)");
  }
  return absl::OkStatus();
}

InitContext MakeInitContext(const Runtime::Launch& launch, const CreateOptions& options) {
  InitContext ctx;
  ctx.spec = &launch.spec;
  ctx.bundle = launch.bundle;
  ctx.rootfs = launch.rootfs;
  const Namespace* userns = launch.spec.linux.FindNamespace(CLONE_NEWUSER);
  ctx.new_userns = userns != nullptr && userns->path.empty();
  if (MayUseReadyNetworkNamespace(launch.spec.linux)) ctx.ready_netns_fd = options.ready_netns_fd;
  ctx.no_pivot = options.no_pivot;
  ctx.preserve_fds = options.preserve_fds;
  ctx.stdio = options.stdio;
  ctx.cgroup_paths = launch.cgroups->Paths();
  ctx.seccomp = launch.seccomp ? &*launch.seccomp : nullptr;
  return ctx;
}

ContainerState InitialState(const std::string& id, const Runtime::Launch& launch, pid_t pid) {
  ContainerState state;
  state.oci_version = launch.spec.oci_version;
  state.id = id;
  state.status = ContainerStatus::kCreating;
  state.pid = pid;
  state.bundle = launch.bundle;
  state.rootfs = launch.rootfs;
  state.annotations = launch.spec.annotations;
  state.cgroup_paths = launch.cgroups->Paths();
  state.namespaces = SpecNamespaces(launch.spec);
  return state;
}

// Serves the init's requests (hooks) until it reports ready or fails.
absl::Status AwaitReady(int fd, const Spec& spec, const ContainerState& state) {
  while (true) {
    ASSIGN_OR_RETURN(sync::Message m, sync::Receive(fd));
    if (m.type == sync::kReady) return absl::OkStatus();
    if (m.type == sync::kError) return absl::FailedPreconditionError(m.payload);
    if (m.type == 0) return absl::InternalError("container init exited during setup");
    if (m.type == sync::kHooks) {
      std::string json = OciStateJson(state, false);
      RETURN_IF_ERROR(RunHooks(spec.hooks.prestart, json, "prestart"));
      RETURN_IF_ERROR(RunHooks(spec.hooks.create_runtime, json, "createRuntime"));
      RETURN_IF_ERROR(sync::Send(fd, sync::kHooksDone, json));
    }
  }
}

}  // namespace

Runtime::Runtime(std::string root) : store_(std::move(root)) {}

std::string SeccompCacheDir(const StateStore& store) { return JoinPath(store.root(), ".seccomp"); }

// The named steps of create: load and check, state dir, cgroups, init, ids and cgroup join,
// save the state and wait for the init's setup (in that order unless hooks run, see below).
absl::StatusOr<ContainerState> Runtime::CreateInternal(const std::string& id,
                                                       const CreateOptions& options,
                                                       bool via_socket, Launch* launch) {
  RETURN_IF_ERROR(LoadBundle(options, SeccompCacheDir(store_), launch));
  const Spec& spec = launch->spec;
  RETURN_IF_ERROR(store_.CreateDir(id));
  absl::Cleanup remove_dir = [&] { (void)store_.Remove(id); };
  if (options.cgroups_disabled || geteuid() != 0) {
    launch->cgroups = NoopCgroupManager();
  } else {
    ASSIGN_OR_RETURN(launch->cgroups, NewCgroupManager(spec.linux.cgroups_path, id));
  }
  RETURN_IF_ERROR(launch->cgroups->Create(spec.linux.resources ? &*spec.linux.resources : nullptr));
  absl::Cleanup remove_cgroups = [&] { (void)launch->cgroups->Destroy(); };

  UniqueFd console, listen_fd;
  if (spec.process->terminal && options.console_fd < 0) {
    ASSIGN_OR_RETURN(console, ConnectConsoleSocket(options.console_socket));
  }
  if (via_socket) {
    ASSIGN_OR_RETURN(listen_fd, ListenStartSocket(store_.Dir(id)));
  }
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return ErrnoError(errno, "socketpair");
  }
  UniqueFd parent_fd(pair[0]), child_fd(pair[1]);
  InitContext ctx = MakeInitContext(*launch, options);
  ctx.sync_fd = child_fd.get();
  ctx.console_fd = !spec.process->terminal ? -1
                   : options.console_fd >= 0 ? options.console_fd : console.get();
  ctx.start_listen_fd = listen_fd.get();
  ASSIGN_OR_RETURN(pid_t pid, CloneInit(ctx, parent_fd.get()));
  absl::Cleanup kill_child = [pid] { KillAndReap(pid); };
  child_fd.Reset();
  listen_fd.Reset();
  console.Reset();

  if (ctx.new_userns) RETURN_IF_ERROR(WriteIdMappings(pid, spec.linux));
  RETURN_IF_ERROR(launch->cgroups->AddProcess(pid));
  RETURN_IF_ERROR(sync::Send(parent_fd.get(), sync::kGo));
  ContainerState state = InitialState(id, *launch, pid);
  ContainerState created = state;
  created.status = ContainerStatus::kCreated;
  created.pid_start_time = ProcessStartTime(pid);
  created.created = NowUtc(9);
  created.config_json = launch->config_json;
  created.start_socket = via_socket;
  // The state file is written while the init is still mounting (~0.6 ms less create), unless
  // hooks run before it is ready: they may ask for the state and must not see "created" yet.
  const Hooks& hooks = spec.hooks;
  bool save_early =
      hooks.prestart.empty() && hooks.create_runtime.empty() && hooks.create_container.empty();
  if (save_early) RETURN_IF_ERROR(store_.Save(created));
  RETURN_IF_ERROR(AwaitReady(parent_fd.get(), spec, state));
  if (!save_early) RETURN_IF_ERROR(store_.Save(created));
  RETURN_IF_ERROR(WritePidFile(options.pid_file, pid));
  launch->sync_fd = std::move(parent_fd);
  std::move(kill_child).Cancel();
  std::move(remove_cgroups).Cancel();
  std::move(remove_dir).Cancel();
  return created;
}

absl::StatusOr<ContainerState> Runtime::Create(const std::string& id, const CreateOptions& options) {
  Launch launch;
  return CreateInternal(id, options, /*via_socket=*/true, &launch);
}

absl::Status Runtime::Start(const std::string& id) {
  ASSIGN_OR_RETURN(ContainerState state, store_.Load(id));
  return Start(std::move(state));
}

absl::Status Runtime::Start(ContainerState state) {
  const std::string& id = state.id;
  if (state.status != ContainerStatus::kCreated) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot start a container that is ", StatusName(state.status)));
  }
  UniqueFd dir_fd;
  ASSIGN_OR_RETURN(sockaddr_un addr, UnixAddress(store_.Dir(id), kStartSocket, &dir_fd));
  UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoError(errno, "socket");
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoError(errno, "connect to the start socket of", id);
  }
  // Gone from here on, the socket says "started" to every later State (see StateStore::Load):
  // state.json stays as it is. A start that fails ends the init, which reads as stopped.
  if (unlink(JoinPath(store_.Dir(id), kStartSocket).c_str()) != 0) {
    return ErrnoError(errno, "remove the start socket of", id);
  }
  RETURN_IF_ERROR(sync::Send(fd.get(), sync::kStart));
  ASSIGN_OR_RETURN(sync::Message reply, sync::Receive(fd.get()));
  if (reply.type == sync::kError) {
    return absl::FailedPreconditionError(reply.payload);
  }
  state.status = ContainerStatus::kRunning;
  if (!MayHaveHook(state.config_json, "poststart")) return absl::OkStatus();
  ASSIGN_OR_RETURN(Spec spec, ParseSpec(state.config_json));
  if (absl::Status s = RunHooks(spec.hooks.poststart, OciStateJson(state, false), "poststart");
      !s.ok()) {
    BERTH_LOG(WARN) << s.message();
  }
  return absl::OkStatus();
}

}  // namespace berth::oci
