// The Tasks service with Debian's containerd-shim-runc-v2 behind berthd, driven through gRPC as
// ctr drives it: stdout through a FIFO, exit codes through Wait and Delete, Kill, Exec, Pids,
// Pause/Resume, events, errors.

#include <signal.h>
#include <unistd.h>

#include <future>

#include "absl/strings/str_cat.h"
#include "containerd/events/task.pb.h"
#include "containerd/services/events/v1/events.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/tasks/task_env.h"
#include "tests/testutil/grpc_client.h"
#include "tests/testutil/test_daemon.h"

namespace berth::tasks_test {
namespace {

using testutil::StatusText;

class TasksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = MissingPrerequisite(); !why.empty()) GTEST_SKIP() << why;
    auto daemon = testutil::TestDaemon::Start();
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
    auto rootfs = BusyboxRootfs::Create();
    ASSERT_TRUE(rootfs.ok()) << rootfs.status();
    rootfs_ = *std::move(rootfs);
    client_ = std::make_unique<TaskClient>(daemon_->NewChannel(), UniqueNamespace("tasks"));
  }

  void TearDown() override {
    if (client_ != nullptr) client_->CleanupAll();
    if (daemon_ != nullptr) {
      (void)daemon_->Stop();
      KillShimsOf(daemon_->address());
    }
  }

  // Containers.Create + Tasks.Create of `args`, stdout to a FIFO in the daemon dir.
  std::unique_ptr<FifoReader> CreateTask(const std::string& id,
                                         const std::vector<std::string>& args,
                                         uint32_t* pid = nullptr) {
    auto spec = SpecJson(client_->ns(), id, args);
    EXPECT_TRUE(spec.ok()) << spec.status();
    grpc::Status status = client_->CreateContainer(id, *spec);
    EXPECT_TRUE(status.ok()) << StatusText(status);
    auto fifo = FifoReader::Create(absl::StrCat(daemon_->dir(), "/", id, "-stdout"));
    EXPECT_TRUE(fifo.ok()) << fifo.status();
    status = client_->CreateTask(id, rootfs_->path(), (*fifo)->path(), pid);
    EXPECT_TRUE(status.ok()) << StatusText(status) << "\n" << daemon_->ReadLog();
    return *std::move(fifo);
  }

  // Wait in the background (before Start, as ctr does).
  std::future<std::pair<grpc::Status, uint32_t>> WaitAsync(const std::string& id,
                                                           const std::string& exec_id = "") {
    return std::async(std::launch::async, [this, id, exec_id] {
      tasks_api::WaitResponse response;
      grpc::Status status = client_->Wait(id, &response, exec_id);
      return std::make_pair(status, response.exit_status());
    });
  }

  std::unique_ptr<testutil::TestDaemon> daemon_;
  std::unique_ptr<BusyboxRootfs> rootfs_;
  std::unique_ptr<TaskClient> client_;
};

TEST_F(TasksTest, EchoHiReachesTheStdoutFifoAndExitsZero) {
  uint32_t pid = 0;
  auto fifo = CreateTask("echo", {"echo", "hi"}, &pid);
  EXPECT_GT(pid, 0u);
  tasks_api::GetResponse got;
  ASSERT_TRUE(client_->Get("echo", &got).ok());
  EXPECT_EQ(got.process().status(), containerd::v1::types::CREATED);
  EXPECT_EQ(got.process().pid(), pid);
  auto waited = WaitAsync("echo");
  ASSERT_TRUE(client_->Start("echo").ok());
  EXPECT_EQ(fifo->ReadAll(), "hi\n");
  auto [status, exit_status] = waited.get();
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(exit_status, 0u);
  tasks_api::DeleteResponse deleted;
  ASSERT_TRUE(client_->Delete("echo", &deleted).ok());
  EXPECT_EQ(deleted.exit_status(), 0u);
  EXPECT_EQ(deleted.pid(), pid);
  // Gone: Get is NotFound (ctr relies on it), and the bundle is removed.
  grpc::Status get = client_->Get("echo", &got);
  EXPECT_EQ(get.error_code(), grpc::StatusCode::NOT_FOUND) << StatusText(get);
  EXPECT_FALSE(access(absl::StrCat(daemon_->state(), "/io.containerd.runtime.v2.task/",
                                   client_->ns(), "/echo").c_str(), F_OK) == 0);
  EXPECT_TRUE(client_->DeleteContainer("echo").ok());
}

TEST_F(TasksTest, ExitCodePropagatesThroughWaitAndDelete) {
  auto fifo = CreateTask("exit7", {"sh", "-c", "exit 7"});
  auto waited = WaitAsync("exit7");
  ASSERT_TRUE(client_->Start("exit7").ok());
  auto [status, exit_status] = waited.get();
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(exit_status, 7u);
  tasks_api::GetResponse got;
  ASSERT_TRUE(client_->Get("exit7", &got).ok());
  EXPECT_EQ(got.process().status(), containerd::v1::types::STOPPED);
  EXPECT_EQ(got.process().exit_status(), 7u);
  tasks_api::DeleteResponse deleted;
  ASSERT_TRUE(client_->Delete("exit7", &deleted).ok());
  EXPECT_EQ(deleted.exit_status(), 7u);
}

TEST_F(TasksTest, ExecPidsPauseResumeKill) {
  uint32_t pid = 0;
  auto fifo = CreateTask("sleeper", {"sleep", "1000"}, &pid);
  auto waited = WaitAsync("sleeper");
  ASSERT_TRUE(client_->Start("sleeper").ok());

  // Exec with its own stdout FIFO; its Wait, Start, output and DeleteProcess.
  auto exec_out = FifoReader::Create(absl::StrCat(daemon_->dir(), "/e1-stdout"));
  ASSERT_TRUE(exec_out.ok());
  grpc::Status status = client_->Exec("sleeper", "e1", {"echo", "x"}, (*exec_out)->path());
  ASSERT_TRUE(status.ok()) << StatusText(status);
  auto exec_waited = WaitAsync("sleeper", "e1");
  ASSERT_TRUE(client_->Start("sleeper", "e1").ok());
  EXPECT_EQ((*exec_out)->ReadAll(), "x\n");
  EXPECT_EQ(exec_waited.get().second, 0u);
  tasks_api::DeleteProcessRequest del;
  del.set_container_id("sleeper");
  del.set_exec_id("e1");
  tasks_api::DeleteResponse deleted;
  status = client_->tasks().DeleteProcess(testutil::NamespacedContext(client_->ns()).get(), del,
                                          &deleted);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(deleted.id(), "e1");

  tasks_api::ListPidsRequest pids_request;
  pids_request.set_container_id("sleeper");
  tasks_api::ListPidsResponse pids;
  ASSERT_TRUE(client_->tasks()
                  .ListPids(testutil::NamespacedContext(client_->ns()).get(), pids_request, &pids)
                  .ok());
  ASSERT_GE(pids.processes_size(), 1);
  EXPECT_EQ(pids.processes(0).pid(), pid);

  tasks_api::PauseTaskRequest pause;
  pause.set_container_id("sleeper");
  google::protobuf::Empty empty;
  status = client_->tasks().Pause(testutil::NamespacedContext(client_->ns()).get(), pause, &empty);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  tasks_api::GetResponse got;
  ASSERT_TRUE(client_->Get("sleeper", &got).ok());
  EXPECT_EQ(got.process().status(), containerd::v1::types::PAUSED);
  tasks_api::ResumeTaskRequest resume;
  resume.set_container_id("sleeper");
  ASSERT_TRUE(
      client_->tasks().Resume(testutil::NamespacedContext(client_->ns()).get(), resume, &empty).ok());
  ASSERT_TRUE(client_->Get("sleeper", &got).ok());
  EXPECT_EQ(got.process().status(), containerd::v1::types::RUNNING);

  tasks_api::ListTasksRequest list;
  tasks_api::ListTasksResponse listed;
  ASSERT_TRUE(
      client_->tasks().List(testutil::NamespacedContext(client_->ns()).get(), list, &listed).ok());
  ASSERT_EQ(listed.tasks_size(), 1);
  EXPECT_EQ(listed.tasks(0).id(), "sleeper");

  // A running task cannot be deleted.
  EXPECT_FALSE(client_->Delete("sleeper").ok());
  ASSERT_TRUE(client_->Kill("sleeper", SIGKILL).ok());
  EXPECT_EQ(waited.get().second, 128u + SIGKILL);
  ASSERT_TRUE(client_->Delete("sleeper").ok());
}

TEST_F(TasksTest, ErrorsForUnknownAndDuplicateTasks) {
  tasks_api::GetResponse got;
  EXPECT_EQ(client_->Get("nope", &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(client_->Kill("nope", SIGKILL).error_code(), grpc::StatusCode::NOT_FOUND);
  tasks_api::WaitResponse waited;
  EXPECT_EQ(client_->Wait("nope", &waited).error_code(), grpc::StatusCode::NOT_FOUND);
  // A container without a task: Get is NotFound too.
  auto spec = SpecJson(client_->ns(), "idle", {"true"});
  ASSERT_TRUE(spec.ok());
  ASSERT_TRUE(client_->CreateContainer("idle", *spec).ok());
  EXPECT_EQ(client_->Get("idle", &got).error_code(), grpc::StatusCode::NOT_FOUND);
  auto fifo = CreateTask("dup", {"sleep", "100"});
  grpc::Status again = client_->CreateTask("dup", rootfs_->path(), "", nullptr);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::ALREADY_EXISTS) << StatusText(again);
  // A spec that cannot run: Create fails and leaves no bundle behind.
  ASSERT_TRUE(client_->CreateContainer("bad", *SpecJson(client_->ns(), "bad", {"/no/such"})).ok());
  grpc::Status bad = client_->CreateTask("bad", rootfs_->path(), "", nullptr);
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(access(absl::StrCat(daemon_->state(), "/io.containerd.runtime.v2.task/",
                                   client_->ns(), "/bad").c_str(), F_OK) == 0);
}

TEST_F(TasksTest, ShimEventsReachSubscribers) {
  namespace events_api = containerd::services::events::v1;
  auto stub = events_api::Events::NewStub(daemon_->NewChannel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  events_api::SubscribeRequest request;
  request.add_filters(absl::StrCat("namespace==", client_->ns(), ",topic~=\"^/tasks/\""));
  auto reader = stub->Subscribe(&context, request);
  reader->WaitForInitialMetadata();
  auto fifo = CreateTask("evt", {"sh", "-c", "exit 3"});
  auto waited = WaitAsync("evt");
  ASSERT_TRUE(client_->Start("evt").ok());
  waited.get();
  ASSERT_TRUE(client_->Delete("evt").ok());
  std::vector<std::string> topics;
  events_api::Envelope envelope;
  while (topics.size() < 4 && reader->Read(&envelope)) {
    topics.push_back(envelope.topic());
    if (envelope.topic() == "/tasks/exit") {
      containerd::events::TaskExit exit;
      ASSERT_TRUE(exit.ParseFromString(envelope.event().value()));
      EXPECT_EQ(exit.exit_status(), 3u);
      EXPECT_EQ(envelope.event().type_url(), "containerd.events.TaskExit");
    }
  }
  context.TryCancel();
  EXPECT_EQ(topics, (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exit",
                                              "/tasks/delete"}));
}

}  // namespace
}  // namespace berth::tasks_test
