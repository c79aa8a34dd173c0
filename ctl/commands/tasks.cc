// berthctl stop / kill / exec / attach / top / stats: verbs on a container's running task.
//
// `stop` sends the image's stop signal (SIGTERM by default), waits -t seconds, then SIGKILLs every process of the container, and
// deletes the stopped task (its exit code stays on the container). `exec` and `attach` exit
// with the process's exit code.

#include <signal.h>

#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "ctl/commands/container_commands.h"
#include "ctl/commands/container_util.h"
#include "ctl/commands/spec_gen.h"
#include "ctl/commands/stats.h"
#include "ctl/commands/task_runner.h"
#include "ctl/methods.h"
#include "ctl/output.h"
#include "plugins/base/status_macros.h"

namespace berth::ctl {
namespace {

using nlohmann::json;

// The container and its task, which must be running.
absl::StatusOr<std::pair<Container, TaskProcess>> RunningTask(Client& client,
                                                              const std::string& ref) {
  ASSIGN_OR_RETURN(Container container, FindContainer(client, ref));
  ASSIGN_OR_RETURN(std::optional<TaskProcess> task, GetTask(client, container.id()));
  if (!task.has_value() || !IsRunning(*task)) {
    return absl::FailedPreconditionError(absl::StrCat("container ", ref, " is not running"));
  }
  return std::make_pair(container, *task);
}

absl::Status StopOne(Client& client, const std::string& ref, int timeout_seconds) {
  ASSIGN_OR_RETURN(Container container, FindContainer(client, ref));
  ASSIGN_OR_RETURN(std::optional<TaskProcess> task, GetTask(client, container.id()));
  if (!task.has_value()) return absl::OkStatus();  // already stopped, as docker
  if (IsRunning(*task)) {
    int stop_signal = SIGTERM;
    if (auto label = container.labels().find(kStopSignalLabel);
        label != container.labels().end()) {
      stop_signal = ParseSignal(label->second).value_or(SIGTERM);
    }
    absl::Status waited = absl::DeadlineExceededError("no grace period");
    if (timeout_seconds > 0) {
      RETURN_IF_ERROR(KillTask(client, container.id(), stop_signal));
      waited = WaitTask(client, container.id(), "", timeout_seconds).status();
    }
    if (absl::IsDeadlineExceeded(waited)) {
      RETURN_IF_ERROR(KillTask(client, container.id(), SIGKILL, "", /*all=*/true));
      waited = WaitTask(client, container.id(), "", 30).status();
    }
    RETURN_IF_ERROR(waited);
  }
  return DeleteTask(client, container.id()).status();
}

absl::Status StopCommand(Client& client, const std::vector<std::string>& refs, int timeout) {
  for (const std::string& ref : refs) {
    RETURN_IF_ERROR(StopOne(client, ref, timeout));
    std::cout << ref << "\n";
  }
  return absl::OkStatus();
}

absl::Status KillCommand(Client& client, const std::vector<std::string>& refs,
                         const std::string& signal_text) {
  ASSIGN_OR_RETURN(int signal, ParseSignal(signal_text));
  for (const std::string& ref : refs) {
    ASSIGN_OR_RETURN(auto running, RunningTask(client, ref));
    RETURN_IF_ERROR(KillTask(client, running.first.id(), signal));
    std::cout << ref << "\n";
  }
  return absl::OkStatus();
}

struct ExecFlags {
  bool interactive = false, tty = false, detach = false;
  std::vector<std::string> env;
  std::string workdir, user, container;
  std::vector<std::string> command;
};

std::string NewExecId() {
  std::random_device random;
  return absl::StrCat("exec-", random(), random());
}

absl::Status DeleteProcess(Client& client, const std::string& id, const std::string& exec_id) {
  tasks_api::DeleteProcessRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  tasks_api::DeleteResponse response;
  return client.Call(methods::kTasksDeleteProcess, request, &response, client.LongOptions());
}

absl::Status ExecCommand(Client& client, const ExecFlags& flags) {
  ASSIGN_OR_RETURN(auto running, RunningTask(client, flags.container));
  const std::string& id = running.first.id();
  ASSIGN_OR_RETURN(json spec, ContainerSpec(running.first));
  ASSIGN_OR_RETURN(json process, ExecProcess(spec, flags.command, flags.env, flags.workdir,
                                             flags.user, flags.tty));
  std::string exec_id = NewExecId();
  ASSIGN_OR_RETURN(std::unique_ptr<TaskIO> io,
                   TaskIO::Create(client.options().ns, exec_id, flags.interactive, flags.tty));
  tasks_api::ExecProcessRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  request.set_stdin(io->stdin_path());
  request.set_stdout(io->stdout_path());
  request.set_stderr(io->stderr_path());
  request.set_terminal(flags.tty);
  request.mutable_spec()->set_type_url(kProcessTypeUrl);
  request.mutable_spec()->set_value(process.dump());
  google::protobuf::Empty empty;
  RETURN_IF_ERROR(client.Call(methods::kTasksExec, request, &empty, client.LongOptions()));
  if (flags.detach) {
    absl::Status started = StartTask(client, id, exec_id);
    if (!started.ok()) (void)DeleteProcess(client, id, exec_id);
    if (started.ok()) io->Detach();
    return started;
  }
  absl::StatusOr<uint32_t> code =
      RunSession(client, *io, {.id = id, .exec_id = exec_id, .terminal = flags.tty});
  (void)DeleteProcess(client, id, exec_id);
  if (!code.ok()) return code.status();
  io.reset();
  ExitWithCode(static_cast<int>(*code));
}

absl::Status AttachCommand(Client& client, const std::string& ref) {
  ASSIGN_OR_RETURN(auto running, RunningTask(client, ref));
  const TaskProcess& task = running.second;
  ASSIGN_OR_RETURN(std::unique_ptr<TaskIO> io,
                   TaskIO::Attach(task.stdin(), task.stdout(), task.stderr()));
  ASSIGN_OR_RETURN(uint32_t code, RunSession(client, *io, {.id = running.first.id(),
                                                           .terminal = task.terminal(),
                                                           .start = false}));
  io.reset();
  ExitWithCode(static_cast<int>(code));
}

// "Uid:\t1000\t..." from /proc/<pid>/status, and the command line; "?" when unreadable.
std::pair<std::string, std::string> ProcInfo(uint32_t pid) {
  std::string uid = "?", ppid = "?";
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  for (std::string line; std::getline(status, line);) {
    std::vector<std::string> cells = absl::StrSplit(line, absl::ByAnyChar(":\t "),
                                                     absl::SkipEmpty());
    if (cells.size() >= 2 && cells[0] == "Uid") uid = cells[1];
    if (cells.size() >= 2 && cells[0] == "PPid") ppid = cells[1];
  }
  std::ifstream cmdline(absl::StrCat("/proc/", pid, "/cmdline"), std::ios::binary);
  std::stringstream text;
  text << cmdline.rdbuf();
  std::string command = text.str();
  while (!command.empty() && command.back() == '\0') command.pop_back();
  absl::StrReplaceAll({{std::string(1, '\0'), " "}}, &command);
  return {absl::StrCat(uid, "\t", ppid), command};
}

absl::Status TopCommand(Client& client, const std::string& ref) {
  ASSIGN_OR_RETURN(auto running, RunningTask(client, ref));
  tasks_api::ListPidsRequest request;
  request.set_container_id(running.first.id());
  tasks_api::ListPidsResponse response;
  RETURN_IF_ERROR(client.Call(methods::kTasksListPids, request, &response));
  Table table({"UID", "PID", "PPID", "CMD"});
  json out = json::array();
  for (const auto& process : response.processes()) {
    auto [ids, command] = ProcInfo(process.pid());
    std::vector<std::string> parts = absl::StrSplit(ids, '\t');
    table.AddRow({parts[0], std::to_string(process.pid()), parts[1], command});
    out.push_back({{"uid", parts[0]}, {"pid", process.pid()}, {"ppid", parts[1]},
                   {"cmd", command}});
  }
  Print(client.options().format, table, out);
  return absl::OkStatus();
}

}  // namespace

void AddTaskCommands(CLI::App& app, Action& action) {
  auto refs = std::make_shared<std::vector<std::string>>();
  auto timeout = std::make_shared<int>(10);
  CLI::App* stop = app.add_subcommand("stop", "Stop containers (SIGTERM, then SIGKILL)");
  stop->add_option("-t,--time", *timeout, "seconds to wait before SIGKILL")->capture_default_str();
  stop->add_option("containers", *refs)->required();
  stop->callback([&action, refs, timeout] {
    action = [refs, timeout](Client& client) { return StopCommand(client, *refs, *timeout); };
  });

  auto signal = std::make_shared<std::string>("KILL");
  CLI::App* kill = app.add_subcommand("kill", "Send a signal to containers");
  kill->add_option("-s,--signal", *signal, "signal name or number")->capture_default_str();
  kill->add_option("containers", *refs)->required();
  kill->callback([&action, refs, signal] {
    action = [refs, signal](Client& client) { return KillCommand(client, *refs, *signal); };
  });

  auto exec_flags = std::make_shared<ExecFlags>();
  CLI::App* exec = app.add_subcommand("exec", "Run a command in a running container");
  exec->add_flag("-i,--interactive", exec_flags->interactive, "keep stdin open");
  exec->add_flag("-t,--tty", exec_flags->tty, "allocate a pseudo-terminal");
  exec->add_flag("-d,--detach", exec_flags->detach, "run in the background");
  exec->add_option("-e,--env", exec_flags->env, "set environment variables")
      ->allow_extra_args(false);
  exec->add_option("-w,--workdir", exec_flags->workdir, "working directory");
  exec->add_option("-u,--user", exec_flags->user, "uid[:gid]");
  exec->add_option("container", exec_flags->container)->required();
  exec->add_option("command", exec_flags->command)->required();
  exec->positionals_at_end();
  exec->callback([&action, exec_flags] {
    action = [exec_flags](Client& client) { return ExecCommand(client, *exec_flags); };
  });

  auto one = std::make_shared<std::string>();
  CLI::App* attach = app.add_subcommand("attach", "Attach to a running container's stdio");
  attach->add_option("container", *one)->required();
  attach->callback([&action, one] {
    action = [one](Client& client) { return AttachCommand(client, *one); };
  });

  CLI::App* top = app.add_subcommand("top", "List a container's processes");
  top->add_option("container", *one)->required();
  top->callback([&action, one] {
    action = [one](Client& client) { return TopCommand(client, *one); };
  });

  AddStatsCommand(app, action);
}

}  // namespace berth::ctl
