// berth-shim through berthd's Tasks API: runc options BinaryName (runc, berth-runtime) instead
// of the in-process runtime, and berthd SIGKILLed while containers run under berth-shim.

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/shim/shim_fixture.h"
#include "tests/tasks/task_env.h"
#include "tests/testutil/grpc_client.h"
#include "tests/testutil/test_daemon.h"

namespace berth::shim_test {
namespace {

using tasks_test::BusyboxRootfs;
using tasks_test::FifoReader;
using tasks_test::TaskClient;
using testutil::StatusText;
namespace tasks_api = containerd::services::tasks::v1;

class ShimTasksTest : public ShimFixture {
 protected:
  void SetUp() override {
    StartShimDaemon("shim-tasks");
    if (daemon_ != nullptr) Connect();
  }

  void Connect() {
    client_ = std::make_unique<TaskClient>(daemon_->NewChannel(), ns_);
    containers_ = std::make_unique<BerthContainers>(daemon_->NewChannel(), ns_);
  }

  // Creates and starts `id` running `args`; returns its pid (0 on failure).
  uint32_t StartTask(const std::string& id, const std::vector<std::string>& args,
                     const std::string& binary_name, const std::string& stdout_path = "") {
    auto spec = tasks_test::SpecJson(ns_, id, args);
    EXPECT_TRUE(spec.ok()) << spec.status();
    if (!spec.ok()) return 0;
    grpc::Status status = containers_->Create(id, *spec, binary_name);
    EXPECT_TRUE(status.ok()) << StatusText(status);
    uint32_t pid = 0;
    status = client_->CreateTask(id, rootfs_->path(), stdout_path, &pid);
    EXPECT_TRUE(status.ok()) << StatusText(status) << daemon_->ReadLog();
    status = client_->Start(id);
    EXPECT_TRUE(status.ok()) << StatusText(status);
    return pid;
  }

  // Runs `args` to completion: its exit status and output.
  std::pair<uint32_t, std::string> RunToExit(const std::string& id,
                                             const std::vector<std::string>& args,
                                             const std::string& binary_name) {
    auto out = FifoReader::Create(absl::StrCat(daemon_->dir(), "/", id, ".out"));
    EXPECT_TRUE(out.ok()) << out.status();
    if (!out.ok() || StartTask(id, args, binary_name, (*out)->path()) == 0) return {999, ""};
    tasks_api::WaitResponse waited;
    grpc::Status status = client_->Wait(id, &waited);
    EXPECT_TRUE(status.ok()) << StatusText(status);
    std::string text = (*out)->ReadAll();
    EXPECT_TRUE(client_->Delete(id).ok());
    EXPECT_TRUE(client_->DeleteContainer(id).ok());
    return {waited.exit_status(), text};
  }

  std::unique_ptr<BerthContainers> containers_;
};

TEST_F(ShimTasksTest, BinaryNameRunc) {
  if (access("/usr/sbin/runc", X_OK) != 0) GTEST_SKIP() << "runc is not installed";
  EXPECT_EQ(RunToExit("hi", {"echo", "hi"}, "/usr/sbin/runc"), std::make_pair(0u, std::string("hi\n")));
  EXPECT_EQ(RunToExit("three", {"sh", "-c", "exit 3"}, "/usr/sbin/runc").first, 3u);
  // An exec through `runc exec --detach`.
  ASSERT_NE(StartTask("bg", {"sleep", "1000"}, "/usr/sbin/runc"), 0u);
  auto out = FifoReader::Create(absl::StrCat(daemon_->dir(), "/exec.out"));
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(client_->Exec("bg", "e1", {"echo", "exec via runc"}, (*out)->path()).ok());
  ASSERT_TRUE(client_->Start("bg", "e1").ok());
  EXPECT_EQ((*out)->ReadAll(), "exec via runc\n");
  EXPECT_TRUE(client_->Kill("bg", SIGKILL).ok());
  tasks_api::WaitResponse waited;
  ASSERT_TRUE(client_->Wait("bg", &waited).ok());
  EXPECT_EQ(waited.exit_status(), 128u + SIGKILL);
}

TEST_F(ShimTasksTest, BinaryNameBerthRuntime) {
  std::string binary = BerthRuntimeBinary();
  if (access(binary.c_str(), X_OK) != 0) GTEST_SKIP() << binary << " is not built";
  EXPECT_EQ(RunToExit("hi", {"echo", "hi"}, binary), std::make_pair(0u, std::string("hi\n")));
  EXPECT_EQ(RunToExit("three", {"sh", "-c", "exit 3"}, binary).first, 3u);
}

// Tasks.Update with an OCI LinuxResources (JSON, as containerd's typeurl sends it) reaches the
// container's memory cgroup, for the in-process runtime and for runc.
TEST_F(ShimTasksTest, UpdateWritesCgroupLimits) {
  if (access("/sys/fs/cgroup/memory", F_OK) != 0) GTEST_SKIP() << "no cgroup v1 memory controller";
  for (const std::string binary : {"", "/usr/sbin/runc"}) {
    std::string id = binary.empty() ? "inproc" : "runc";
    ASSERT_NE(StartTask(id, {"sleep", "1000"}, binary), 0u);
    tasks_api::UpdateTaskRequest request;
    request.set_container_id(id);
    request.mutable_resources()->set_type_url(
        "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources");
    request.mutable_resources()->set_value(R"({"memory":{"limit":33554432}})");
    google::protobuf::Empty empty;
    grpc::Status status = client_->tasks().Update(
        testutil::NamespacedContext(ns_).get(), request, &empty);
    EXPECT_TRUE(status.ok()) << id << ": " << StatusText(status);
    std::ifstream in("/sys/fs/cgroup/memory/" + ns_ + "/" + id + "/memory.limit_in_bytes");
    uint64_t limit = 0;
    in >> limit;
    EXPECT_EQ(limit, 33554432u) << id;
  }
}

TEST_F(ShimTasksTest, DaemonSigkillKeepsTasks) {
  uint32_t keep = StartTask("keep", {"sleep", "1000"}, "");
  uint32_t dies = StartTask("dies", {"sleep", "1000"}, "");
  ASSERT_NE(StartTask("lost", {"sleep", "1000"}, ""), 0u);
  ASSERT_NE(keep, 0u);
  ASSERT_NE(dies, 0u);
  ASSERT_FALSE(MountsContaining(absl::StrCat("/", ns_, "/lost/rootfs")).empty());
  std::vector<int> lost_shim = ShimPids(daemon_->address(), "lost");
  ASSERT_EQ(lost_shim.size(), 1u);
  ASSERT_TRUE(daemon_->Kill(SIGKILL).ok());
  // While berthd is down: "dies" exits with 9 (its shim stays and records it); the shim of
  // "lost" is killed (berthd must clean up with `berth-shim delete`).
  ASSERT_EQ(kill(static_cast<pid_t>(dies), SIGKILL), 0);
  ASSERT_EQ(KillShims(daemon_->address(), "lost"), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<int> shims = ShimPids(daemon_->address());
  ASSERT_EQ(shims.size(), 2u);
  ASSERT_TRUE(daemon_->StartProcess().ok()) << daemon_->ReadLog();
  Connect();
  EXPECT_EQ(ShimPids(daemon_->address()), shims);
  tasks_api::GetResponse lost;
  EXPECT_EQ(client_->Get("lost", &lost).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(MountsContaining(absl::StrCat("/", ns_, "/lost/rootfs")).empty());
  EXPECT_TRUE(CgroupDirsOf(ns_, "lost").empty());
  tasks_api::GetResponse got;
  ASSERT_TRUE(client_->Get("keep", &got).ok());
  EXPECT_EQ(got.process().status(), containerd::v1::types::RUNNING);
  EXPECT_EQ(got.process().pid(), keep);
  ASSERT_TRUE(client_->Get("dies", &got).ok());
  EXPECT_EQ(got.process().status(), containerd::v1::types::STOPPED);
  EXPECT_EQ(got.process().exit_status(), 128u + SIGKILL);
  tasks_api::WaitResponse waited;
  ASSERT_TRUE(client_->Wait("dies", &waited, "", 5).ok());
  EXPECT_EQ(waited.exit_status(), 128u + SIGKILL);
  auto out = FifoReader::Create(absl::StrCat(daemon_->dir(), "/exec.out"));
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(client_->Exec("keep", "e1", {"echo", "still here"}, (*out)->path()).ok());
  ASSERT_TRUE(client_->Start("keep", "e1").ok());
  EXPECT_EQ((*out)->ReadAll(), "still here\n");
}

}  // namespace
}  // namespace berth::shim_test
