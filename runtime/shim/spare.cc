// TaskService::Adopt: a spare shim (`start -spare`, started by berthd ahead of any task)
// becomes the shim of the task berthd names, as if `start` had been run for it.
// TaskService::Recycle: once that task is deleted, it waits as a spare again.

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "berth/shim/v1/spare.pb.h"
#include "google/protobuf/empty.pb.h"
#include "plugins/base/file_util.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "runtime/oci/linux/namespaces.h"
#include "runtime/oci/state_store.h"
#include "runtime/shim/shim_main.h"
#include "runtime/shim/task_service.h"

namespace berth::shim {
namespace {

// Where the kernel keeps this process's argv strings (fields 48-49 of /proc/self/stat).
std::optional<std::pair<char*, char*>> ArgvArea() {
  std::vector<std::string> fields = oci::ProcStatFields("self");
  uint64_t arg_start = 0, arg_end = 0;  // fields 48 and 49; the list starts at field 3
  if (fields.size() < 47 || !absl::SimpleAtoi(fields[45], &arg_start) ||
      !absl::SimpleAtoi(fields[46], &arg_end) || arg_end <= arg_start) {
    return std::nullopt;
  }
  return std::make_pair(reinterpret_cast<char*>(arg_start), reinterpret_cast<char*>(arg_end));
}

// /proc/<pid>/cmdline (what ps shows and what tools match shims by) with the -namespace and
// -id of `flags`: as `start` would have set it for the task (without -spare and its room), or,
// `waiting` as a spare again, with them. Rewritten in place (changing where the kernel looks
// needs CAP_SYS_RESOURCE, which not every root has): berthd starts spares with a -spare-room
// argument that leaves space for any task's namespace and id.
void ShowInCommandLine(const Flags& flags, bool waiting) {
  std::string cmdline;
  for (size_t i = 0; i < flags.argv.size(); ++i) {
    const std::string& arg = flags.argv[i];
    if (!waiting && arg == "-spare") continue;
    if (!waiting && arg == "-spare-room") {
      ++i;
      continue;
    }
    cmdline.append(arg).push_back('\0');
    if (i + 1 < flags.argv.size() && (arg == "-namespace" || arg == "-id")) {
      cmdline.append(arg == "-id" ? flags.id : flags.ns).push_back('\0');
      ++i;
    }
  }
  std::optional<std::pair<char*, char*>> area = ArgvArea();
  if (!area.has_value() || cmdline.size() > static_cast<size_t>(area->second - area->first)) {
    BERTH_LOG(DEBUG) << "the command line keeps the id it had";
    return;
  }
  memcpy(area->first, cmdline.data(), cmdline.size());
  memset(area->first + cmdline.size(), 0, static_cast<size_t>(area->second - area->first) -
                                               cmdline.size());
}

// Whether any child (a container process re-parented to us, a publish helper) is left.
bool HasChildren() {
  siginfo_t info{};
  return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

}  // namespace

// The files `start` leaves in a bundle: where the shim listens (this shim's socket, from the
// bundle it is in now) and its pid; then the bundle becomes the cwd. berthd's restore reads
// the address; RunServer removes that socket at exit.
absl::Status TaskService::MoveIntoBundle(const std::string& bundle) {
  ASSIGN_OR_RETURN(std::string address, ReadFile(JoinPath(flags_.bundle, "address")));
  RETURN_IF_ERROR(WriteFileReplace(JoinPath(bundle, "address"), address, 0600));
  RETURN_IF_ERROR(WriteFileReplace(JoinPath(bundle, "shim.pid"), absl::StrCat(getpid()), 0600));
  if (chdir(bundle.c_str()) != 0) return ErrnoError(errno, "chdir", bundle);
  return absl::OkStatus();
}

void TaskService::ServeAs(const std::string& ns, const std::string& id,
                          const std::string& bundle) {
  flags_.ns = ns;
  flags_.id = id;
  flags_.bundle = bundle;
  publisher_->SetNamespace(ns);
}

void TaskService::PrepareNetworkNamespace() {
  if (ready_netns_.valid() || geteuid() != 0) return;
  absl::StatusOr<UniqueFd> netns = oci::NewNetworkNamespace();
  if (!netns.ok()) {
    BERTH_LOG(DEBUG) << "no network namespace made ahead: " << netns.status().message();
    return;
  }
  ready_netns_ = *std::move(netns);
}

absl::Status TaskService::Adopt(const berth::shim::v1::AdoptRequest& request) {
  if (!flags_.spare) return FailedPrecondition("this shim was not started as a spare");
  if (adopted_ || init_ != nullptr) {
    return FailedPrecondition(absl::StrCat("this shim already serves task ", flags_.id));
  }
  if (request.id().empty() || request.namespace_().empty()) {
    return InvalidArgument("adopt: the task id and namespace are required");
  }
  if (request.bundle().empty() || request.bundle()[0] != '/') {
    return InvalidArgument(absl::StrCat("adopt: bundle `", request.bundle(), "` is not absolute"));
  }
  // Normal scheduling again (a spare waits as SCHED_IDLE), or no adoption: the container's
  // processes would inherit the idle policy.
  sched_param none{};
  if (sched_setscheduler(0, SCHED_OTHER, &none) != 0) {
    return ErrnoError(errno, "leave SCHED_IDLE (adopt)");
  }
  RETURN_IF_ERROR(MoveIntoBundle(request.bundle()));
  RedirectStderrToLog(request.bundle());
  ServeAs(request.namespace_(), request.id(), request.bundle());
  adopted_ = true;
  ShowInCommandLine(flags_, /*waiting=*/false);
  BERTH_LOG(DEBUG) << "spare shim adopted task " << flags_.ns << "/" << flags_.id;
  return absl::OkStatus();
}

absl::Status TaskService::Recycle(const berth::shim::v1::RecycleRequest& request) {
  if (!flags_.spare || !adopted_) {
    return FailedPrecondition("only the shim of an adopted spare can be recycled");
  }
  if (init_ != nullptr || !execs_.empty()) {
    return FailedPrecondition(absl::StrCat("task ", flags_.id, " is not deleted"));
  }
  if (request.id().empty()) return InvalidArgument("recycle: the spare id is required");
  if (request.bundle().empty() || request.bundle()[0] != '/') {
    return InvalidArgument(absl::StrCat("recycle: bundle `", request.bundle(), "` is not absolute"));
  }
  // Whatever the container left behind goes with this shim (its exit reaps it), never into
  // the next container's.
  if (HasChildren()) return FailedPrecondition("processes of the deleted task are left");
  UniqueFd null_fd(open("/dev/null", O_WRONLY | O_CLOEXEC));
  if (!null_fd.valid()) return ErrnoError(errno, "open", "/dev/null");
  RETURN_IF_ERROR(MoveIntoBundle(request.bundle()));
  BERTH_LOG(DEBUG) << "task " << flags_.ns << "/" << flags_.id << " deleted: recycled as spare "
                   << request.id();
  // The task's log FIFO loses its reader with the task: a spare logs nowhere.
  dup2(null_fd.get(), STDERR_FILENO);
  ServeAs(spare_namespace_, request.id(), request.bundle());
  backend_.reset();
  adopted_ = false;
  ShowInCommandLine(flags_, /*waiting=*/true);
  // The deleted task's rootfs is unmounted for good now, after the reply: its final unmount
  // syncs the upper filesystem (DetachRootfs), which no caller needs to wait for.
  loop_->Post([this] {
    detached_rootfs_.clear();
    PrepareNetworkNamespace();
  });
  return absl::OkStatus();
}

template <class Request>
void TaskService::RegisterSpareMethod(ttrpc::Server* server, const char* name,
                                      absl::Status (TaskService::*method)(const Request&)) {
  server->RegisterSync<Request, google::protobuf::Empty>(
      "berth.shim.v1.Spare", name,
      [this, method](const ttrpc::ServerCall&,
                     const Request& request) -> absl::StatusOr<google::protobuf::Empty> {
        trimmer_.Touch();
        RETURN_IF_ERROR((this->*method)(request));
        return google::protobuf::Empty();
      });
}

void TaskService::RegisterSpare(ttrpc::Server* server) {
  if (!flags_.spare) return;
  RegisterSpareMethod(server, "Adopt", &TaskService::Adopt);
  RegisterSpareMethod(server, "Recycle", &TaskService::Recycle);
  loop_->Post([this] { PrepareNetworkNamespace(); });
}

}  // namespace berth::shim
