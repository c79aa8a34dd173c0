#include "tests/tasks/task_env.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "containerd/runtime/runc/v1/options.pb.h"
#include "tests/testutil/grpc_client.h"
#include "tests/testutil/process.h"
#include "tests/testutil/test_daemon.h"

namespace berth::tasks_test {
namespace {

constexpr char kSpecTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
constexpr char kProcessTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Process";

}  // namespace

std::string MissingPrerequisite() {
  if (geteuid() != 0) return "not root";
  for (const char* path : {"/usr/sbin/runc", "/usr/bin/containerd-shim-runc-v2",
                           "/usr/bin/busybox", "/usr/bin/ctr"}) {
    if (access(path, X_OK) != 0) return absl::StrCat(path, " is not installed");
  }
  return "";
}

absl::StatusOr<std::unique_ptr<BusyboxRootfs>> BusyboxRootfs::Create() {
  char tmpl[] = "/tmp/berth-rootfs-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return absl::ErrnoToStatus(errno, "mkdtemp");
  std::unique_ptr<BusyboxRootfs> rootfs(new BusyboxRootfs(tmpl));
  chmod(tmpl, 0755);
  for (const char* dir : {"bin", "proc", "dev", "sys", "run", "tmp", "etc"}) {
    mkdir(absl::StrCat(tmpl, "/", dir).c_str(), 0755);
  }
  std::ifstream in("/usr/bin/busybox", std::ios::binary);
  std::ofstream out(absl::StrCat(tmpl, "/bin/busybox"), std::ios::binary);
  out << in.rdbuf();
  out.close();
  chmod(absl::StrCat(tmpl, "/bin/busybox").c_str(), 0755);
  for (const char* applet : {"sh", "echo", "true", "false", "sleep", "id", "cat", "ls", "ps",
                             "kill", "hostname"}) {
    symlink("busybox", absl::StrCat(tmpl, "/bin/", applet).c_str());
  }
  return rootfs;
}

BusyboxRootfs::~BusyboxRootfs() { testutil::RemoveTree(path_); }

absl::StatusOr<std::string> SpecJson(const std::string& ns, const std::string& id,
                                     const std::vector<std::string>& args) {
  absl::StatusOr<testutil::CommandResult> spec = testutil::RunCommand({"/usr/bin/ctr", "oci", "spec"});
  if (!spec.ok()) return spec.status();
  if (!spec->ok()) return absl::InternalError(spec->Describe());
  nlohmann::json json = nlohmann::json::parse(spec->out, nullptr, false);
  if (json.is_discarded()) return absl::InternalError("ctr oci spec: not JSON");
  json["process"]["args"] = args;
  json["process"]["env"] = {"PATH=/bin"};
  json["linux"]["cgroupsPath"] = absl::StrCat("/", ns, "/", id);
  json["hostname"] = id;
  return json.dump();
}

absl::StatusOr<std::unique_ptr<FifoReader>> FifoReader::Create(const std::string& path) {
  if (mkfifo(path.c_str(), 0700) != 0) return absl::ErrnoToStatus(errno, "mkfifo " + path);
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, "open " + path);
  return std::unique_ptr<FifoReader>(new FifoReader(path, fd));
}

FifoReader::~FifoReader() {
  close(fd_);
  unlink(path_.c_str());
}

std::string FifoReader::ReadAll(int timeout_ms) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool seen_writer = false;
  while (std::chrono::steady_clock::now() < deadline) {
    struct pollfd pfd = {fd_, POLLIN, 0};
    poll(&pfd, 1, 100);
    char buf[4096];
    ssize_t n = read(fd_, buf, sizeof(buf));
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      seen_writer = true;
    } else if (n == 0 && (seen_writer || (pfd.revents & POLLHUP))) {
      if (pfd.revents & POLLHUP) break;  // Every writer closed.
    }
  }
  return out;
}

TaskClient::TaskClient(std::shared_ptr<grpc::Channel> channel, std::string ns)
    : ns_(std::move(ns)),
      tasks_(tasks_api::Tasks::NewStub(channel)),
      containers_(containers_api::Containers::NewStub(channel)) {}

grpc::Status TaskClient::CreateContainer(const std::string& id, const std::string& spec_json) {
  containers_api::CreateContainerRequest request;
  containers_api::Container* c = request.mutable_container();
  c->set_id(id);
  c->mutable_runtime()->set_name("io.containerd.runc.v2");
  c->mutable_runtime()->mutable_options()->set_type_url("containerd.runc.v1.Options");
  c->mutable_spec()->set_type_url(kSpecTypeUrl);
  c->mutable_spec()->set_value(spec_json);
  containers_api::CreateContainerResponse response;
  return containers_->Create(testutil::NamespacedContext(ns_).get(), request, &response);
}

grpc::Status TaskClient::DeleteContainer(const std::string& id) {
  containers_api::DeleteContainerRequest request;
  request.set_id(id);
  google::protobuf::Empty empty;
  return containers_->Delete(testutil::NamespacedContext(ns_).get(), request, &empty);
}

grpc::Status TaskClient::CreateTask(const std::string& id, const std::string& rootfs_dir,
                                    const std::string& stdout_path, uint32_t* pid) {
  tasks_api::CreateTaskRequest request;
  request.set_container_id(id);
  containerd::types::Mount* mount = request.add_rootfs();
  mount->set_type("bind");
  mount->set_source(rootfs_dir);
  mount->add_options("rbind");
  mount->add_options("ro");
  request.set_stdout(stdout_path);
  // The runc shim opens stderr whenever stdout is set (ctr always sends both).
  if (!stdout_path.empty()) request.set_stderr("/dev/null");
  tasks_api::CreateTaskResponse response;
  grpc::Status status = tasks_->Create(
      testutil::NamespacedContext(ns_, std::chrono::seconds(30)).get(), request, &response);
  if (pid != nullptr) *pid = response.pid();
  return status;
}

grpc::Status TaskClient::Start(const std::string& id, const std::string& exec_id) {
  tasks_api::StartRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  tasks_api::StartResponse response;
  return tasks_->Start(testutil::NamespacedContext(ns_).get(), request, &response);
}

grpc::Status TaskClient::Get(const std::string& id, tasks_api::GetResponse* response,
                             const std::string& exec_id) {
  tasks_api::GetRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  return tasks_->Get(testutil::NamespacedContext(ns_).get(), request, response);
}

grpc::Status TaskClient::Kill(const std::string& id, uint32_t signal, const std::string& exec_id) {
  tasks_api::KillRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  request.set_signal(signal);
  google::protobuf::Empty empty;
  return tasks_->Kill(testutil::NamespacedContext(ns_).get(), request, &empty);
}

grpc::Status TaskClient::Delete(const std::string& id, tasks_api::DeleteResponse* response) {
  tasks_api::DeleteTaskRequest request;
  request.set_container_id(id);
  tasks_api::DeleteResponse ignored;
  return tasks_->Delete(testutil::NamespacedContext(ns_, std::chrono::seconds(30)).get(), request,
                        response != nullptr ? response : &ignored);
}

grpc::Status TaskClient::Wait(const std::string& id, tasks_api::WaitResponse* response,
                              const std::string& exec_id, int timeout_s) {
  tasks_api::WaitRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  return tasks_->Wait(testutil::NamespacedContext(ns_, std::chrono::seconds(timeout_s)).get(),
                      request, response);
}

grpc::Status TaskClient::Exec(const std::string& id, const std::string& exec_id,
                              const std::vector<std::string>& args,
                              const std::string& stdout_path) {
  nlohmann::json process = {{"args", args},          {"cwd", "/"},
                            {"env", {"PATH=/bin"}},  {"user", {{"uid", 0}, {"gid", 0}}},
                            {"terminal", false}};
  tasks_api::ExecProcessRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  request.set_stdout(stdout_path);
  request.set_stderr("/dev/null");
  request.mutable_spec()->set_type_url(kProcessTypeUrl);
  request.mutable_spec()->set_value(process.dump());
  google::protobuf::Empty empty;
  return tasks_->Exec(testutil::NamespacedContext(ns_).get(), request, &empty);
}

void TaskClient::CleanupAll() {
  tasks_api::ListTasksRequest list;
  tasks_api::ListTasksResponse tasks;
  if (tasks_->List(testutil::NamespacedContext(ns_).get(), list, &tasks).ok()) {
    for (const auto& task : tasks.tasks()) {
      (void)Kill(task.container_id().empty() ? task.id() : task.container_id(), SIGKILL);
      tasks_api::WaitResponse waited;
      (void)Wait(task.id(), &waited, "", 10);
      (void)Delete(task.id());
    }
  }
  containers_api::ListContainersRequest request;
  containers_api::ListContainersResponse response;
  if (containers_->List(testutil::NamespacedContext(ns_).get(), request, &response).ok()) {
    for (const auto& c : response.containers()) (void)DeleteContainer(c.id());
  }
  RemoveNamespaceCgroups(ns_);
}

int KillShimsOf(const std::string& grpc_address) { return KillShimOf(grpc_address, ""); }

int KillShimOf(const std::string& grpc_address, const std::string& id) {
  const std::string nul(1, '\0');
  int killed = 0;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return 0;
  while (struct dirent* entry = readdir(proc)) {
    pid_t pid = atoi(entry->d_name);
    if (pid <= 0) continue;
    std::ifstream in(absl::StrCat("/proc/", pid, "/cmdline"), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string cmdline = ss.str();
    if (cmdline.find("containerd-shim") == std::string::npos) continue;
    if (cmdline.find(absl::StrCat(nul, "-address", nul, grpc_address, nul)) ==
        std::string::npos) {
      continue;
    }
    if (!id.empty() && cmdline.find(absl::StrCat(nul, "-id", nul, id, nul)) == std::string::npos) {
      continue;
    }
    if (kill(pid, SIGKILL) == 0) ++killed;
  }
  closedir(proc);
  return killed;
}

std::string UniqueNamespace(const std::string& prefix) {
  return absl::StrCat(prefix, "-", getpid());
}

}  // namespace berth::tasks_test
