// runtime_v2::TaskManager driving Debian's containerd-shim-runc-v2 directly (no gRPC daemon):
// create with a bind-mounted busybox rootfs, stdout through a FIFO, Wait without a thread,
// shim events forwarded into the exchange, delete, dead-shim cleanup and restore by a second
// manager on the same directories.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <future>
#include <fstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/v2/child_process.h"
#include "runtime/v2/task_manager.h"
#include "services/events/exchange.h"

namespace berth::runtime_v2 {
namespace {

class Recorder : public events::Subscriber {
 public:
  void Deliver(const events::Envelope& envelope) override {
    absl::MutexLock lock(&mu_);
    topics_.push_back(envelope.topic());
  }
  void Close() override {}
  std::vector<std::string> topics() {
    absl::MutexLock lock(&mu_);
    return topics_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> topics_;
};

// Running and not a zombie (an orphan is reaped by whoever is pid 1 here, maybe late).
bool Alive(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

class TaskManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "not root";
    for (const char* p : {"/usr/bin/containerd-shim-runc-v2", "/usr/sbin/runc", "/usr/bin/busybox",
                          "/usr/bin/ctr"}) {
      if (access(p, X_OK) != 0) GTEST_SKIP() << p << " is not installed";
    }
    char tmpl[] = "/tmp/berth-tm-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    rootfs_ = dir_ + "/rootfs";
    for (const char* d : {"", "/bin", "/proc", "/dev", "/sys", "/run", "/tmp"}) {
      mkdir((rootfs_ + d).c_str(), 0755);
    }
    {
      std::ifstream in("/usr/bin/busybox", std::ios::binary);
      std::ofstream out(rootfs_ + "/bin/busybox", std::ios::binary);
      out << in.rdbuf();
    }
    chmod((rootfs_ + "/bin/busybox").c_str(), 0755);
    for (const char* a : {"sh", "echo", "sleep"}) symlink("busybox", (rootfs_ + "/bin/" + a).c_str());
    subscription_ = exchange_.Subscribe(&recorder_, [](const events::Envelope&) { return true; });
    StartManager();
  }

  void TearDown() override {
    manager_.reset();
    // runc removes each container's cgroup; the per-namespace parent is ours to remove.
    (void)RunCommand({.argv = {"/bin/sh", "-c",
                               absl::StrCat("rmdir /sys/fs/cgroup/*/", kNs, " 2>/dev/null; true")}});
    if (!dir_.empty()) {
      (void)RunCommand({.argv = {"/bin/rm", "-rf", dir_}});
    }
  }

  void StartManager() {
    auto manager = TaskManager::Start(
        {.state_dir = dir_ + "/state", .root_dir = dir_ + "/root",
         .env = {.grpc_address = dir_ + "/grpc.sock", .ttrpc_address = dir_ + "/grpc.sock.ttrpc",
                 .publish_binary = "/bin/false"}},
        &exchange_);
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = *std::move(manager);
  }

  CreateOptions Options(const std::string& id, const std::vector<std::string>& args,
                        const std::string& stdout_path) {
    auto spec = RunCommand({.argv = {"/usr/bin/ctr", "oci", "spec"}});
    EXPECT_TRUE(spec.ok());
    nlohmann::json json = nlohmann::json::parse(spec->out);
    json["process"]["args"] = args;
    json["process"]["env"] = {"PATH=/bin"};
    json["linux"]["cgroupsPath"] = absl::StrCat("/", kNs, "/", id);
    CreateOptions options{.id = id, .runtime = "io.containerd.runc.v2", .spec_json = json.dump()};
    options.runtime_options.set_type_url("containerd.runc.v1.Options");
    containerd::types::Mount mount;
    mount.set_type("bind");
    mount.set_source(rootfs_);
    mount.add_options("rbind");
    mount.add_options("ro");
    options.rootfs.push_back(mount);
    options.stdout_path = stdout_path;
    // The runc shim opens stderr too whenever stdout is set (ctr always sends both).
    if (!stdout_path.empty()) options.stderr_path = "/dev/null";
    return options;
  }

  std::future<absl::StatusOr<shimapi::WaitResponse>> Wait(const std::shared_ptr<ShimTask>& task) {
    auto promise = std::make_shared<std::promise<absl::StatusOr<shimapi::WaitResponse>>>();
    task->WaitAsync("", [promise](absl::StatusOr<shimapi::WaitResponse> r) {
      promise->set_value(std::move(r));
    });
    return promise->get_future();
  }

  static constexpr char kNs[] = "berth-tm-test";
  std::string dir_, rootfs_;
  events::Exchange exchange_;
  Recorder recorder_;
  std::unique_ptr<events::Exchange::Subscription> subscription_;
  std::unique_ptr<TaskManager> manager_;
};

TEST_F(TaskManagerTest, RunEchoThroughTheRuncShim) {
  std::string fifo = dir_ + "/out";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0700), 0);
  int fd = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  auto task = manager_->Create(kNs, Options("echo", {"echo", "hi"}, fifo));
  ASSERT_TRUE(task.ok()) << task.status();
  EXPECT_GT((*task)->pid(), 0u);
  auto waited = Wait(*task);
  shimapi::StartRequest start;
  start.set_id("echo");
  shimapi::StartResponse started;
  ASSERT_TRUE((*task)->Call("Start", start, &started).ok());
  auto result = waited.get();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_status(), 0u);
  char buf[64] = {};
  struct pollfd pfd = {fd, POLLIN, 0};
  poll(&pfd, 1, 5000);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(read(fd, buf, sizeof(buf)))), "hi\n");
  close(fd);
  auto deleted = manager_->Delete(kNs, "echo");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(manager_->Get(kNs, "echo").status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(access((dir_ + "/state/" + kNs + "/echo").c_str(), F_OK), 0);
  std::vector<std::string> topics = recorder_.topics();
  EXPECT_EQ(topics, (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exit",
                                              "/tasks/delete"}));
}

TEST_F(TaskManagerTest, RestoreReconnectsAndDeadShimIsCleanedUp) {
  auto task = manager_->Create(kNs, Options("s1", {"sleep", "100"}, ""));
  ASSERT_TRUE(task.ok()) << task.status();
  uint32_t pid = (*task)->pid();
  pid_t shim_pid = (*task)->shim_pid();
  shimapi::StartRequest start;
  start.set_id("s1");
  shimapi::StartResponse started;
  ASSERT_TRUE((*task)->Call("Start", start, &started).ok());
  task->reset();
  manager_.reset();  // The daemon goes away; the shim and the container stay.
  ASSERT_EQ(kill(static_cast<pid_t>(pid), 0), 0);
  StartManager();
  auto restored = manager_->Get(kNs, "s1");
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ((*restored)->pid(), pid);
  auto waited = Wait(*restored);
  // The shim dies: the waiter gets the exit from `shim delete`, events are synthesized.
  ASSERT_EQ(kill(shim_pid, SIGKILL), 0);
  auto result = waited.get();
  ASSERT_TRUE(result.ok()) << result.status();
  for (int i = 0; i < 100 && manager_->Get(kNs, "s1").ok(); ++i) usleep(20000);
  EXPECT_EQ(manager_->Get(kNs, "s1").status().code(), absl::StatusCode::kNotFound);
  for (int i = 0; i < 100 && access((dir_ + "/state/" + kNs + "/s1").c_str(), F_OK) == 0; ++i) {
    usleep(20000);
  }
  EXPECT_NE(access((dir_ + "/state/" + kNs + "/s1").c_str(), F_OK), 0);
  EXPECT_FALSE(Alive(static_cast<pid_t>(pid)));  // runc delete --force killed it.
  // The synthesized events follow the cleanup: wait for them.
  std::vector<std::string> topics = recorder_.topics();
  for (int i = 0; i < 100 && (topics.empty() || topics.back() != "/tasks/delete"); ++i) {
    usleep(20000);
    topics = recorder_.topics();
  }
  ASSERT_GE(topics.size(), 2u);
  EXPECT_EQ(topics[topics.size() - 2], "/tasks/exit");
  EXPECT_EQ(topics.back(), "/tasks/delete");
}

}  // namespace
}  // namespace berth::runtime_v2
