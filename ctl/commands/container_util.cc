#include "ctl/commands/container_util.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ctl/commands/task_io.h"
#include "ctl/methods.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"

namespace berth::ctl {
namespace {

constexpr std::pair<const char*, int> kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},   {"BUS", SIGBUS},   {"FPE", SIGFPE},
    {"KILL", SIGKILL}, {"USR1", SIGUSR1},   {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},   {"TERM", SIGTERM}, {"CHLD", SIGCHLD},
    {"CONT", SIGCONT}, {"STOP", SIGSTOP},   {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"PWR", SIGPWR},   {"SYS", SIGSYS},
};

std::string HumanDuration(absl::Duration d) {
  auto unit = [](int64_t n, const char* name) {
    return absl::StrCat(n, " ", name, n == 1 ? "" : "s");
  };
  if (d < absl::Seconds(1)) return "Less than a second";
  if (d < absl::Minutes(1)) return unit(d / absl::Seconds(1), "second");
  if (d < absl::Hours(1)) return unit(d / absl::Minutes(1), "minute");
  if (d < absl::Hours(48)) return unit(d / absl::Hours(1), "hour");
  return unit(d / absl::Hours(24), "day");
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// A time recorded in a label (unix seconds); the container's creation time if absent.
absl::Time LabelTime(const Container& container, const char* label) {
  int64_t seconds = 0;
  auto it = container.labels().find(label);
  if (it != container.labels().end() && absl::SimpleAtoi(it->second, &seconds)) {
    return absl::FromUnixSeconds(seconds);
  }
  return FromProto(container.created_at());
}

}  // namespace

void ExitWithCode(int code) {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  // _exit: the client connection's reader thread is still running; static destructors would
  // race with it.
  _exit(code);
}

absl::Status SetLabels(Client& client, const std::string& id,
                       const std::map<std::string, std::string>& labels) {
  containers_api::UpdateContainerRequest request;
  request.mutable_container()->set_id(id);
  for (const auto& [key, value] : labels) {
    (*request.mutable_container()->mutable_labels())[key] = value;
    request.mutable_update_mask()->add_paths(absl::StrCat("labels.", key));
  }
  containers_api::UpdateContainerResponse response;
  return client.Call(methods::kContainersUpdate, request, &response);
}

std::string NowLabel() { return std::to_string(absl::ToUnixSeconds(absl::Now())); }

std::string NamespacedName(const std::string& ns, const std::string& name) {
  return absl::StrCat(ns, "@", name);
}

std::string StateDir(const std::string& ns, const std::string& id) {
  return absl::StrCat(kStateRoot, "/", NamespacedName(ns, id));
}

void RemoveStateDir(const std::string& ns, const std::string& id) {
  (void)RemoveAll(StateDir(ns, id));
  std::string legacy_parent = absl::StrCat(kStateRoot, "/", ns);
  if (RemoveAll(absl::StrCat(legacy_parent, "/", id)).ok()) {
    (void)rmdir(legacy_parent.c_str());  // fails, as it should, while others are there
  }
}

std::string NewContainerId() {
  std::random_device random;
  std::string id;
  const char* hex = "0123456789abcdef";
  for (int i = 0; i < 64; ++i) id += hex[random() % 16];
  return id;
}

std::string ShortId(const std::string& id) { return id.substr(0, 12); }

absl::StatusOr<std::vector<Container>> ListContainers(Client& client) {
  containers_api::ListContainersResponse response;
  RETURN_IF_ERROR(client.Call(methods::kContainersList, {}, &response));
  return std::vector<Container>(response.containers().begin(), response.containers().end());
}

absl::StatusOr<Container> FindContainer(Client& client, const std::string& ref) {
  containers_api::GetContainerRequest request;
  request.set_id(ref);
  containers_api::GetContainerResponse response;
  absl::Status status = client.Call(methods::kContainersGet, request, &response);
  if (status.ok()) return response.container();
  if (!absl::IsNotFound(status) && !absl::IsInvalidArgument(status)) return status;
  ASSIGN_OR_RETURN(std::vector<Container> all, ListContainers(client));
  std::vector<Container> matches;
  for (const Container& c : all) {
    if (!ref.empty() && absl::StartsWith(c.id(), ref)) matches.push_back(c);
  }
  if (matches.size() == 1) return matches[0];
  if (matches.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("container ID prefix `", ref, "` is ambiguous (", matches.size(),
                     " containers)"));
  }
  return absl::NotFoundError(absl::StrCat("no such container: ", ref));
}

absl::StatusOr<nlohmann::json> ContainerSpec(const Container& container) {
  nlohmann::json spec = nlohmann::json::parse(container.spec().value(), nullptr, false);
  if (!spec.is_object()) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", container.id(), " has no readable OCI spec"));
  }
  return spec;
}

absl::StatusOr<std::optional<TaskProcess>> GetTask(Client& client, const std::string& id,
                                                   const std::string& exec_id) {
  tasks_api::GetRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  tasks_api::GetResponse response;
  absl::Status status = client.Call(methods::kTasksGet, request, &response);
  if (absl::IsNotFound(status)) return std::optional<TaskProcess>();
  if (!status.ok()) return status;
  return std::optional<TaskProcess>(response.process());
}

bool IsRunning(const TaskProcess& process) {
  return process.status() == containerd::v1::types::RUNNING ||
         process.status() == containerd::v1::types::PAUSED ||
         process.status() == containerd::v1::types::PAUSING;
}

absl::StatusOr<uint32_t> WaitTask(Client& client, const std::string& id,
                                  const std::string& exec_id, int timeout_seconds) {
  tasks_api::WaitRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  tasks_api::WaitResponse response;
  rpc::CallOptions options = client.LongOptions();
  if (timeout_seconds > 0) {
    options.deadline = http2::Clock::now() + std::chrono::seconds(timeout_seconds);
  }
  RETURN_IF_ERROR(client.Call(methods::kTasksWait, request, &response, options));
  return response.exit_status();
}

absl::Status KillTask(Client& client, const std::string& id, int signal,
                      const std::string& exec_id, bool all) {
  tasks_api::KillRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  request.set_signal(static_cast<uint32_t>(signal));
  request.set_all(all);
  google::protobuf::Empty empty;
  return client.Call(methods::kTasksKill, request, &empty);
}

absl::Status StartTask(Client& client, const std::string& id, const std::string& exec_id) {
  tasks_api::StartRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  tasks_api::StartResponse response;
  return client.Call(methods::kTasksStart, request, &response, client.LongOptions());
}

absl::StatusOr<uint32_t> DeleteTask(Client& client, const std::string& id, bool record_exit) {
  ASSIGN_OR_RETURN(std::optional<TaskProcess> task, GetTask(client, id));
  ASSIGN_OR_RETURN(uint32_t exit_status, DeleteOwnTask(client, id, record_exit));
  if (task.has_value()) RemoveFifosOf(task->stdout().empty() ? task->stdin() : task->stdout());
  return exit_status;
}

absl::Status DeleteRecord(Client& client, const std::string& id) {
  containers_api::DeleteContainerRequest request;
  request.set_id(id);
  google::protobuf::Empty empty;
  return client.Call(methods::kContainersDelete, request, &empty);
}

absl::StatusOr<uint32_t> DeleteOwnTask(Client& client, const std::string& id, bool record_exit) {
  tasks_api::DeleteTaskRequest request;
  request.set_container_id(id);
  tasks_api::DeleteResponse response;
  RETURN_IF_ERROR(client.Call(methods::kTasksDelete, request, &response, client.LongOptions()));
  // Informational only: `ps -a`, `wait` and `inspect` read it once the task is gone.
  if (!record_exit) return response.exit_status();
  (void)SetLabels(client, id, {{kExitCodeLabel, std::to_string(response.exit_status())},
                               {kFinishedAtLabel, NowLabel()}});
  return response.exit_status();
}

absl::Status ForceRemoveTask(Client& client, const std::string& id) {
  ASSIGN_OR_RETURN(std::optional<TaskProcess> task, GetTask(client, id));
  if (!task.has_value()) return absl::OkStatus();
  if (IsRunning(*task)) {
    absl::Status killed = KillTask(client, id, SIGKILL, "", /*all=*/true);
    if (!killed.ok() && !absl::IsNotFound(killed)) return killed;
    RETURN_IF_ERROR(WaitTask(client, id, "", 30).status());
  }
  return DeleteTask(client, id).status();
}

absl::StatusOr<int> ParseSignal(const std::string& text) {
  int number = 0;
  if (absl::SimpleAtoi(text, &number) && number > 0 && number < 65) return number;
  std::string name = absl::AsciiStrToUpper(text);
  if (absl::StartsWith(name, "SIG")) name = name.substr(3);
  for (const auto& [signal_name, value] : kSignals) {
    if (name == signal_name) return value;
  }
  return absl::InvalidArgumentError(absl::StrCat("invalid signal `", text, "`"));
}

std::string DescribeStatus(const Container& container, const std::optional<TaskProcess>& task) {
  absl::Time now = absl::Now();
  if (task.has_value()) {
    switch (task->status()) {
      case containerd::v1::types::RUNNING:
        return absl::StrCat("Up ", HumanDuration(now - LabelTime(container, kStartedAtLabel)));
      case containerd::v1::types::PAUSED:
      case containerd::v1::types::PAUSING:
        return "Up (Paused)";
      case containerd::v1::types::STOPPED:
        return absl::StrCat("Exited (", task->exit_status(), ") ",
                            HumanDuration(now - FromProto(task->exited_at())), " ago");
      default:
        return "Created";
    }
  }
  auto code = container.labels().find(kExitCodeLabel);
  if (code == container.labels().end()) return "Created";
  return absl::StrCat("Exited (", code->second, ") ",
                      HumanDuration(now - LabelTime(container, kFinishedAtLabel)), " ago");
}

}  // namespace berth::ctl
