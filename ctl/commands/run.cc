// berthctl run / create / start.
//
// A container is made as the container record, then the container's snapshot (key =
// container ID, parent = the image's chain ID, unpacked first if it is missing), which the
// record protects from the garbage collector (ctr uses a lease for that). `run`
// without -d stays attached and exits with the container's exit code; a failed `run` removes
// everything it made.
// `start` deletes a stopped task first, so a container can run again on the same snapshot.

#include <iostream>
#include <memory>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "containerd/services/snapshots/v1/snapshots.pb.h"
#include "ctl/commands/commands.h"
#include "ctl/commands/container_commands.h"
#include "ctl/commands/image_config.h"
#include "ctl/commands/spec_gen.h"
#include "ctl/commands/task_runner.h"
#include "ctl/methods.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"

namespace berth::ctl {
namespace {

namespace snapshots_api = containerd::services::snapshots::v1;

struct RunFlags {
  bool rm = false, tty = false, interactive = false, detach = false;
  std::string name, workdir, user, memory, runtime = kDefaultRuntime;
  std::string snapshotter = kDefaultSnapshotter, entrypoint, hostname;
  double cpus = 0;
  std::vector<std::string> env;
  std::string image;
  std::vector<std::string> command;
};

absl::StatusOr<Mounts> PrepareSnapshot(Client& client, const RunFlags& flags,
                                       const std::string& id, const std::string& parent) {
  snapshots_api::PrepareSnapshotRequest request;
  request.set_snapshotter(flags.snapshotter);
  request.set_key(id);
  request.set_parent(parent);
  snapshots_api::PrepareSnapshotResponse response;
  RETURN_IF_ERROR(
      client.Call(methods::kSnapshotsPrepare, request, &response, client.LongOptions()));
  return std::move(*response.mutable_mounts());
}

// The container's snapshot on the image's; a missing image snapshot (NotFound: the image is
// not unpacked for this snapshotter yet) is unpacked first. Trying Prepare first saves a
// Snapshots.Stat on every run of an unpacked image.
absl::StatusOr<Mounts> PrepareOnImage(Client& client, const RunFlags& flags,
                                      const std::string& id, const ImageConfig& image) {
  absl::StatusOr<Mounts> mounts = PrepareSnapshot(client, flags, id, image.chain_id);
  if (!absl::IsNotFound(mounts.status())) return mounts;
  RETURN_IF_ERROR(Unpack(client, image, flags.snapshotter));
  return PrepareSnapshot(client, flags, id, image.chain_id);
}

// `starting`: `run` starts the task right away, so the record gets its start time now (one
// synced Containers.Update less per run).
absl::StatusOr<Container> CreateRecord(Client& client, const RunFlags& flags,
                                       const std::string& id,
                                       const ImageConfig& image, const nlohmann::json& spec,
                                       bool starting) {
  containers_api::CreateContainerRequest request;
  Container* c = request.mutable_container();
  c->set_id(id);
  c->set_image(image.name);
  (*c->mutable_labels())[kImageLabel] = flags.image;
  if (starting) (*c->mutable_labels())[kStartedAtLabel] = NowLabel();
  const nlohmann::json& config = image.config;
  (*c->mutable_labels())[kStopSignalLabel] =
      config.contains("StopSignal") && config["StopSignal"].is_string()
          ? config["StopSignal"].get<std::string>()
          : "SIGTERM";
  c->mutable_runtime()->set_name(flags.runtime);
  if (flags.runtime == "io.containerd.runc.v2") {
    c->mutable_runtime()->mutable_options()->set_type_url("containerd.runc.v1.Options");
  }
  c->mutable_spec()->set_type_url(kSpecTypeUrl);
  c->mutable_spec()->set_value(spec.dump());
  c->set_snapshotter(flags.snapshotter);
  c->set_snapshot_key(id);
  containers_api::CreateContainerResponse response;
  RETURN_IF_ERROR(
      client.Call(methods::kContainersCreate, request, &response, client.LongOptions()));
  return response.container();
}

// A container made by run/create, with its snapshot's mounts for Tasks.Create.
struct Created {
  Container container;
  Mounts rootfs;
};

absl::StatusOr<Created> CreateContainer(Client& client, const RunFlags& flags, bool starting) {
  const std::string& ns = client.options().ns;
  std::string id = flags.name.empty() ? NewContainerId() : flags.name;
  if (!flags.name.empty()) {
    absl::StatusOr<Container> existing = FindContainer(client, flags.name);
    if (existing.ok() && existing->id() == flags.name) {
      return absl::AlreadyExistsError(
          absl::StrCat("container name `", flags.name, "` is already in use"));
    }
  }
  ASSIGN_OR_RETURN(ImageConfig image, ResolveImage(client, flags.image));
  SpecOptions spec_options{.ns = ns, .id = id, .hostname = flags.hostname,
                           .image_config = image.config, .command = flags.command,
                           .env = flags.env, .workdir = flags.workdir, .user = flags.user,
                           .terminal = flags.tty, .memory = flags.memory, .cpus = flags.cpus,
                           .etc_dir = StateDir(ns, id)};
  if (!flags.entrypoint.empty()) spec_options.entrypoint = {flags.entrypoint};
  ASSIGN_OR_RETURN(nlohmann::json spec, GenerateSpec(spec_options));  // bad flags: nothing made

  RETURN_IF_ERROR(WriteEtcFiles(StateDir(ns, id), spec["hostname"].get<std::string>()));
  absl::Cleanup remove_state = [&] { RemoveStateDir(ns, id); };
  // The record first: it names the snapshot and so keeps it from the garbage collector from
  // the moment it exists, which makes ctr's lease (two more synced calls) unnecessary.
  ASSIGN_OR_RETURN(Container container, CreateRecord(client, flags, id, image, spec, starting));
  absl::Cleanup delete_record = [&] { (void)DeleteRecord(client, id); };
  ASSIGN_OR_RETURN(Mounts rootfs, PrepareOnImage(client, flags, id, image));
  std::move(delete_record).Cancel();
  std::move(remove_state).Cancel();
  return Created{std::move(container), std::move(rootfs)};
}

// How a task is started. `label_start`: record the start time on the container (`run` did
// when it made the record); `record_exit`: record the exit code and time (not for --rm).
struct StartOptions {
  bool interactive = false, terminal = false, label_start = true, record_exit = true;
};

// Creates the task with FIFOs that stay for `attach`, starts it and leaves it running.
// `rootfs`: the snapshot's mounts when the caller has them (null: asked of the daemon).
absl::Status StartDetached(Client& client, const Container& container, const Mounts* rootfs,
                           StartOptions options) {
  ASSIGN_OR_RETURN(std::unique_ptr<TaskIO> io,
                   TaskIO::Create(client.options().ns, container.id(), options.interactive,
                                  options.terminal));
  RETURN_IF_ERROR(CreateTask(client, container, rootfs, io.get(), options.terminal).status());
  absl::Status started = StartTask(client, container.id());
  if (!started.ok()) {
    (void)ForceRemoveTask(client, container.id());
    return started;
  }
  if (options.label_start) {
    (void)SetLabels(client, container.id(), {{kStartedAtLabel, NowLabel()}});
  }
  io->Detach();
  return absl::OkStatus();
}

// Creates the task, runs it attached, deletes it; the exit status.
absl::StatusOr<uint32_t> StartAttached(Client& client, const Container& container,
                                       const Mounts* rootfs, StartOptions options) {
  ASSIGN_OR_RETURN(std::unique_ptr<TaskIO> io,
                   TaskIO::Create(client.options().ns, container.id(), options.interactive,
                                  options.terminal));
  RETURN_IF_ERROR(CreateTask(client, container, rootfs, io.get(), options.terminal).status());
  if (options.label_start) {
    (void)SetLabels(client, container.id(), {{kStartedAtLabel, NowLabel()}});
  }
  absl::StatusOr<uint32_t> exit_status =
      RunSession(client, *io, {.id = container.id(), .terminal = options.terminal});
  if (!exit_status.ok()) {
    (void)ForceRemoveTask(client, container.id());
    return exit_status;
  }
  return DeleteOwnTask(client, container.id(), options.record_exit);
}

absl::Status RunCommand(Client& client, const RunFlags& flags) {
  if (flags.rm && flags.detach) return absl::InvalidArgumentError("--rm and -d conflict");
  ASSIGN_OR_RETURN(Created created, CreateContainer(client, flags, /*starting=*/true));
  const Container& container = created.container;
  StartOptions start{.interactive = flags.interactive, .terminal = flags.tty,
                     .label_start = false, .record_exit = !flags.rm};
  if (flags.detach) {
    absl::Status status = StartDetached(client, container, &created.rootfs, start);
    if (!status.ok()) {
      (void)RemoveContainer(client, container, /*force=*/true);
      return status;
    }
    std::cout << container.id() << "\n";
    return absl::OkStatus();
  }
  absl::StatusOr<uint32_t> exit_status =
      StartAttached(client, container, &created.rootfs, start);
  if (!exit_status.ok()) {
    (void)RemoveContainer(client, container, /*force=*/true);
  } else if (flags.rm) {
    (void)RemoveStoppedContainer(client, container);
  }
  if (!exit_status.ok()) return exit_status.status();
  ExitWithCode(static_cast<int>(*exit_status));
}

absl::Status CreateOnlyCommand(Client& client, const RunFlags& flags) {
  ASSIGN_OR_RETURN(Created created, CreateContainer(client, flags, /*starting=*/false));
  std::cout << created.container.id() << "\n";
  return absl::OkStatus();
}

absl::Status StartCommand(Client& client, const std::vector<std::string>& refs, bool attach,
                          bool interactive) {
  for (const std::string& ref : refs) {
    ASSIGN_OR_RETURN(Container container, FindContainer(client, ref));
    ASSIGN_OR_RETURN(std::optional<TaskProcess> task, GetTask(client, container.id()));
    if (task.has_value() && IsRunning(*task)) continue;  // already running, as docker
    if (task.has_value()) RETURN_IF_ERROR(DeleteTask(client, container.id()).status());
    ASSIGN_OR_RETURN(nlohmann::json spec, ContainerSpec(container));
    bool terminal = spec["process"].value("terminal", false);
    if (attach) {
      ASSIGN_OR_RETURN(uint32_t code,
                       StartAttached(client, container, /*rootfs=*/nullptr,
                                     {.interactive = interactive, .terminal = terminal}));
      ExitWithCode(static_cast<int>(code));
    }
    RETURN_IF_ERROR(
        StartDetached(client, container, /*rootfs=*/nullptr,
                      {.interactive = interactive, .terminal = terminal}));
    std::cout << ref << "\n";
  }
  return absl::OkStatus();
}

void AddRunFlags(CLI::App* cmd, RunFlags& f) {
  cmd->add_flag("--rm", f.rm, "remove the container when it exits");
  cmd->add_flag("-t,--tty", f.tty, "allocate a pseudo-terminal");
  cmd->add_flag("-i,--interactive", f.interactive, "keep stdin open");
  cmd->add_option("--name", f.name, "container name (its ID)");
  cmd->add_option("-e,--env", f.env, "set environment variables (KEY=VALUE or KEY)")
      ->allow_extra_args(false);  // one value per -e; the image and command follow
  cmd->add_option("-w,--workdir", f.workdir, "working directory inside the container");
  cmd->add_option("-u,--user", f.user, "uid[:gid]");
  cmd->add_option("-m,--memory", f.memory, "memory limit (e.g. 64m)");
  cmd->add_option("--cpus", f.cpus, "number of CPUs");
  cmd->add_option("--runtime", f.runtime, "runtime (shim) name")->capture_default_str();
  cmd->add_option("--snapshotter", f.snapshotter, "snapshotter")->capture_default_str();
  cmd->add_option("--entrypoint", f.entrypoint, "override the image's entrypoint");
  cmd->add_option("-h,--hostname", f.hostname, "container host name");
  cmd->add_option("image", f.image, "image")->required();
  cmd->add_option("command", f.command, "command and arguments");
  cmd->positionals_at_end();  // everything after the image belongs to the container
}

}  // namespace

void AddRunCommands(CLI::App& app, Action& action) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* run = app.add_subcommand("run", "Run a command in a new container");
  run->set_help_flag("--help");  // -h is --hostname, as in docker
  AddRunFlags(run, *flags);
  run->add_flag("-d,--detach", flags->detach, "run in the background and print the ID");
  run->callback([&action, flags] {
    action = [flags](Client& client) { return RunCommand(client, *flags); };
  });

  CLI::App* create = app.add_subcommand("create", "Create a container without starting it");
  create->set_help_flag("--help");
  AddRunFlags(create, *flags);
  create->callback([&action, flags] {
    action = [flags](Client& client) { return CreateOnlyCommand(client, *flags); };
  });

  auto refs = std::make_shared<std::vector<std::string>>();
  auto attach = std::make_shared<bool>(false);
  auto interactive = std::make_shared<bool>(false);
  CLI::App* start = app.add_subcommand("start", "Start stopped containers");
  start->add_flag("-a,--attach", *attach, "attach stdout/stderr and exit with its code");
  start->add_flag("-i,--interactive", *interactive, "attach stdin");
  start->add_option("containers", *refs)->required();
  start->callback([&action, refs, attach, interactive] {
    action = [refs, attach, interactive](Client& client) {
      return StartCommand(client, *refs, *attach, *interactive);
    };
  });
}

}  // namespace berth::ctl
