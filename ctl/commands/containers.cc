// berthctl ps / inspect / rm / wait, and the registration of every container verb.
//
// `ps` joins Containers.List with Tasks.List: a container is "Up" while its task runs,
// "Exited (N)" once its task stopped (or was deleted and the exit code recorded in a label),
// "Created" before its first start. Without -a only running containers are listed, as docker.

#include <iostream>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ctl/commands/container_commands.h"
#include "ctl/commands/container_util.h"
#include "ctl/commands/image_util.h"
#include "ctl/commands/task_runner.h"
#include "ctl/methods.h"
#include "ctl/output.h"
#include "plugins/base/status_macros.h"

namespace berth::ctl {
namespace {

using nlohmann::json;

absl::StatusOr<std::map<std::string, TaskProcess>> ListTasks(Client& client) {
  tasks_api::ListTasksResponse response;
  RETURN_IF_ERROR(client.Call(methods::kTasksList, {}, &response));
  std::map<std::string, TaskProcess> out;
  for (const TaskProcess& task : response.tasks()) out[task.id()] = task;
  return out;
}

std::string StateName(const Container& container, const std::optional<TaskProcess>& task) {
  if (task.has_value()) {
    switch (task->status()) {
      case containerd::v1::types::RUNNING: return "running";
      case containerd::v1::types::PAUSED:
      case containerd::v1::types::PAUSING: return "paused";
      case containerd::v1::types::STOPPED: return "exited";
      default: return "created";
    }
  }
  return container.labels().count(kExitCodeLabel) != 0 ? "exited" : "created";
}

std::string Command(const json& spec) {
  std::vector<std::string> args;
  if (spec.contains("process") && spec["process"].contains("args")) {
    args = spec["process"]["args"].get<std::vector<std::string>>();
  }
  return absl::StrJoin(args, " ");
}

std::string ImageName(const Container& container) {
  auto label = container.labels().find(kImageLabel);
  if (label != container.labels().end()) return label->second;
  auto [repository, tag] = SplitReference(container.image());
  return tag == "<none>" ? repository : absl::StrCat(repository, ":", tag);
}

json InspectJson(const Container& container, const std::optional<TaskProcess>& task) {
  absl::StatusOr<json> spec_or = ContainerSpec(container);
  json spec = spec_or.ok() ? *spec_or : json::object();
  json process = spec.value("process", json::object());
  json state = {{"Status", StateName(container, task)},
                {"Running", task.has_value() && IsRunning(*task)},
                {"Paused", task.has_value() && task->status() == containerd::v1::types::PAUSED},
                {"Pid", task.has_value() ? task->pid() : 0}};
  if (task.has_value() && task->status() == containerd::v1::types::STOPPED) {
    state["ExitCode"] = task->exit_status();
  } else if (auto code = container.labels().find(kExitCodeLabel);
             code != container.labels().end()) {
    state["ExitCode"] = std::stoi(code->second);
  }
  json resources = spec.contains("linux") ? spec["linux"].value("resources", json::object())
                                          : json::object();
  return {
      {"Id", container.id()},
      {"Name", container.id()},
      {"Created", FormatTimestamp(container.created_at())},
      {"Image", ImageName(container)},
      {"ImageRef", container.image()},
      {"Runtime", container.runtime().name()},
      {"Snapshotter", container.snapshotter()},
      {"SnapshotKey", container.snapshot_key()},
      {"Labels", std::map<std::string, std::string>(container.labels().begin(),
                                                    container.labels().end())},
      {"State", state},
      {"Config", {{"Hostname", spec.value("hostname", "")},
                  {"Cmd", process.value("args", json::array())},
                  {"Env", process.value("env", json::array())},
                  {"WorkingDir", process.value("cwd", "")},
                  {"User", process.value("user", json::object())},
                  {"Tty", process.value("terminal", false)}}},
      {"HostConfig", {{"Resources", resources}}},
      {"Spec", spec},
  };
}

absl::Status PsCommand(Client& client, bool all, bool quiet) {
  ASSIGN_OR_RETURN(std::vector<Container> containers, ListContainers(client));
  ASSIGN_OR_RETURN(auto tasks, ListTasks(client));
  Table table({"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"});
  json out = json::array();
  for (const Container& container : containers) {
    std::optional<TaskProcess> task;
    if (auto it = tasks.find(container.id()); it != tasks.end()) task = it->second;
    if (!all && !(task.has_value() && IsRunning(*task))) continue;
    if (quiet) {
      std::cout << ShortId(container.id()) << "\n";
      continue;
    }
    absl::StatusOr<json> spec = ContainerSpec(container);
    std::string command = spec.ok() ? Command(*spec) : "";
    if (command.size() > 20) command = command.substr(0, 19) + "…";
    table.AddRow({ShortId(container.id()), ImageName(container), absl::StrCat("\"", command, "\""),
                  HumanAge(container.created_at()), DescribeStatus(container, task),
                  container.id()});
    json entry = InspectJson(container, task);
    entry.erase("Spec");
    entry["Status"] = DescribeStatus(container, task);
    out.push_back(entry);
  }
  if (!quiet) Print(client.options().format, table, out);
  return absl::OkStatus();
}

absl::Status InspectCommand(Client& client, const std::vector<std::string>& refs) {
  json out = json::array();
  for (const std::string& ref : refs) {
    ASSIGN_OR_RETURN(Container container, FindContainer(client, ref));
    ASSIGN_OR_RETURN(std::optional<TaskProcess> task, GetTask(client, container.id()));
    out.push_back(InspectJson(container, task));
  }
  std::cout << out.dump(2) << "\n";
  return absl::OkStatus();
}

absl::Status RmCommand(Client& client, const std::vector<std::string>& refs, bool force) {
  absl::Status first_error;
  for (const std::string& ref : refs) {
    absl::StatusOr<Container> container = FindContainer(client, ref);
    absl::Status status = container.status();
    if (status.ok()) status = RemoveContainer(client, *container, force);
    if (status.ok()) {
      std::cout << ref << "\n";
      continue;
    }
    if (refs.size() == 1) return status;
    std::cerr << "berthctl: " << status.message() << "\n";  // go on with the others
    if (first_error.ok()) first_error = status;
  }
  if (first_error.ok()) return first_error;
  return absl::Status(first_error.code(), "some containers were not removed");
}

absl::Status WaitCommand(Client& client, const std::vector<std::string>& refs) {
  for (const std::string& ref : refs) {
    ASSIGN_OR_RETURN(Container container, FindContainer(client, ref));
    ASSIGN_OR_RETURN(std::optional<TaskProcess> task, GetTask(client, container.id()));
    if (task.has_value()) {
      ASSIGN_OR_RETURN(uint32_t code, WaitTask(client, container.id()));
      std::cout << code << "\n";
      continue;
    }
    auto code = container.labels().find(kExitCodeLabel);
    if (code == container.labels().end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("container ", ref, " has never been started"));
    }
    std::cout << code->second << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

void AddContainerListCommands(CLI::App& app, Action& action) {
  auto all = std::make_shared<bool>(false);
  auto quiet = std::make_shared<bool>(false);
  CLI::App* ps = app.add_subcommand("ps", "List containers");
  ps->add_flag("-a,--all", *all, "show all containers (default: running ones)");
  ps->add_flag("-q,--quiet", *quiet, "only IDs");
  ps->callback([&action, all, quiet] {
    action = [all, quiet](Client& client) { return PsCommand(client, *all, *quiet); };
  });

  auto refs = std::make_shared<std::vector<std::string>>();
  CLI::App* inspect = app.add_subcommand("inspect", "Show containers as JSON");
  inspect->add_option("containers", *refs)->required();
  inspect->callback([&action, refs] {
    action = [refs](Client& client) { return InspectCommand(client, *refs); };
  });

  auto force = std::make_shared<bool>(false);
  CLI::App* rm = app.add_subcommand("rm", "Remove containers");
  rm->add_flag("-f,--force", *force, "kill running containers first");
  rm->add_option("containers", *refs)->required();
  rm->callback([&action, refs, force] {
    action = [refs, force](Client& client) { return RmCommand(client, *refs, *force); };
  });

  CLI::App* wait = app.add_subcommand("wait", "Wait for containers to stop; print exit codes");
  wait->add_option("containers", *refs)->required();
  wait->callback([&action, refs] {
    action = [refs](Client& client) { return WaitCommand(client, *refs); };
  });
}

}  // namespace berth::ctl
