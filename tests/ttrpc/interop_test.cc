// Interoperability with a real Go ttrpc peer: Debian's containerd-shim-runc-v2 (ttrpc 1.1),
// started the way containerd 1.6 starts it. Proves the framing, envelopes, metadata and status
// codes match Go ttrpc.

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "containerd/runtime/task/v2/shim.pb.h"
#include "containerd/services/ttrpc/events/v1/events.pb.h"
#include "google/protobuf/empty.pb.h"
#include "gtest/gtest.h"
#include "plugins/base/temp_dir.h"
#include "runtime/ttrpc/client.h"
#include "runtime/ttrpc/socket.h"
#include "tests/ttrpc/test_service.h"

namespace berth::ttrpc {
namespace {

constexpr char kShim[] = "/usr/bin/containerd-shim-runc-v2";
constexpr char kTask[] = "containerd.task.v2.Task";
constexpr char kNamespace[] = "berth-ttrpc-test";

std::string ReadAll(int fd) {
  std::string out;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out.append(buffer, n);
  }
  return out;
}

// Waits for `pid` (our descendant: this process is a subreaper) to exit.
bool WaitExit(pid_t pid, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    pid_t got = waitpid(pid, nullptr, WNOHANG);
    if (got == pid || (got < 0 && errno == ECHILD)) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

class ShimInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (/run/containerd/s)";
    if (access(kShim, X_OK) != 0) GTEST_SKIP() << kShim << " is not installed";
    // The shim daemon is re-parented to us, so we can reap it and know it exited.
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    absl::StatusOr<ScopedTempDir> dir = ScopedTempDir::Create("/tmp", "ttrpc-interop-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    bundle_ = std::make_unique<ScopedTempDir>(*std::move(dir));
    std::ofstream(bundle_->path() + "/config.json") << "{}";
    // containerd opens the log FIFO before starting the shim; the shim daemon opens it for
    // writing (blocking) and would hang without a reader.
    std::string log = bundle_->path() + "/log";
    ASSERT_EQ(mkfifo(log.c_str(), 0700), 0);
    log_fd_ = UniqueFd(open(log.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    ASSERT_TRUE(log_fd_.valid());
    // Our server is the shim's event sink (TTRPC_ADDRESS): there the Go ttrpc client calls us.
    events_ = testing::TestServer::Start(
        [this](Server& server) {
          server.Register("containerd.services.events.ttrpc.v1.Events", "Forward",
                          [this](ServerCall call) { OnForward(std::move(call)); });
        },
        {.require_same_user = true}, "containerd.sock.ttrpc");
    ASSERT_NE(events_, nullptr);
  }

  struct Event {
    std::string topic;
    std::string envelope_namespace;
    std::string metadata_namespace;
  };

  void OnForward(ServerCall call) {
    containerd::services::events::ttrpc::v1::ForwardRequest request;
    if (absl::Status status = call.ParseRequest(&request); !status.ok()) {
      call.Fail(status);
      return;
    }
    {
      std::lock_guard lock(mu_);
      events_seen_.push_back({request.envelope().topic(), request.envelope().namespace_(),
                              std::string(call.metadata().Namespace().value_or(""))});
    }
    call.Reply(google::protobuf::Empty());
  }

  std::vector<Event> EventsSeen() {
    std::lock_guard lock(mu_);
    return events_seen_;
  }

  void TearDown() override {
    if (shim_pid_ > 0 && !WaitExit(shim_pid_, absl::Milliseconds(10))) {
      kill(shim_pid_, SIGKILL);
      WaitExit(shim_pid_, absl::Seconds(5));
    }
    if (!socket_path_.empty()) unlink(socket_path_.c_str());
    if (bundle_) umount2((bundle_->path() + "/rootfs").c_str(), MNT_DETACH);
    rmdir((std::string("/run/containerd/runc/") + kNamespace).c_str());  // runc's, if empty.
    events_.reset();
    if (log_fd_.valid()) {
      std::string log = ReadAll(log_fd_.get());
      if (HasFailure()) std::cerr << "shim log:\n" << log << "\n";
    }
  }

  // Runs `containerd-shim-runc-v2 ... start` and returns the address it prints.
  std::string StartShim(const std::string& id) {
    std::string grpc_address = events_->dir() + "/containerd.sock";
    std::string ttrpc_env = "TTRPC_ADDRESS=" + grpc_address + ".ttrpc";
    std::vector<std::string> args = {
        kShim,       "-namespace", kNamespace, "-address", grpc_address, "-publish-binary",
        "/bin/true", "-id",        id,         "start"};
    int out[2];
    EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
    pid_t pid = fork();
    if (pid == 0) {
      int null = open("/dev/null", O_RDWR);
      dup2(null, 0);
      dup2(out[1], 1);
      if (chdir(bundle_->path().c_str()) != 0) _exit(127);
      std::vector<char*> argv;
      for (auto& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      char* envp[] = {ttrpc_env.data(), const_cast<char*>("GOMAXPROCS=2"),
                      const_cast<char*>("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nullptr};
      execve(kShim, argv.data(), envp);
      _exit(127);
    }
    close(out[1]);
    // The daemonised shim inherits nothing of the pipe (close-on-exec in Go), so EOF comes
    // when `start` exits.
    std::string printed = ReadAll(out[0]);
    close(out[0]);
    int status = 0;
    EXPECT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "start status " << status;
    return std::string(absl::StripAsciiWhitespace(printed));
  }

  std::unique_ptr<ScopedTempDir> bundle_;
  std::unique_ptr<testing::TestServer> events_;
  std::mutex mu_;
  std::vector<Event> events_seen_;
  UniqueFd log_fd_;
  pid_t shim_pid_ = 0;
  std::string socket_path_;
};

TEST_F(ShimInteropTest, ConnectStateAndShutdownAgainstGoShim) {
  std::string address = StartShim("test");
  ASSERT_TRUE(absl::StartsWith(address, "unix:///run/containerd/s/")) << address;
  socket_path_ = std::string(absl::StripPrefix(address, "unix://"));

  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(address);
  ASSERT_TRUE(client.ok()) << client.status();
  CallOptions options{.metadata = Metadata::WithNamespace(kNamespace),
                      .timeout = absl::Seconds(10)};

  containerd::task::v2::ConnectRequest connect;
  connect.set_id("test");
  containerd::task::v2::ConnectResponse connected;
  absl::Status status = (*client)->Call(kTask, "Connect", connect, &connected, options);
  ASSERT_TRUE(status.ok()) << status;
  shim_pid_ = static_cast<pid_t>(connected.shim_pid());
  EXPECT_GT(shim_pid_, 0);
  EXPECT_EQ(kill(shim_pid_, 0), 0);
  EXPECT_EQ(connected.task_pid(), 0u);  // No container yet.

  // Go status codes arrive as absl codes: errdefs.ErrNotFound -> NotFound.
  containerd::task::v2::StateRequest state;
  state.set_id("no-such-container");
  containerd::task::v2::StateResponse state_response;
  status = (*client)->Call(kTask, "State", state, &state_response, options);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;

  // Unknown methods and services: Go ttrpc's own Unimplemented errors.
  google::protobuf::Empty empty;
  status = (*client)->Call(kTask, "NoSuchMethod", empty, &empty, options);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented) << status;
  EXPECT_EQ(status.message(), "method NoSuchMethod");
  status = (*client)->Call("containerd.task.v2.Nope", "Connect", connect, &connected, options);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented) << status;

  // Several calls in flight at once on the one connection.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 25; ++j) {
        containerd::task::v2::ConnectResponse response;
        if ((*client)->Call(kTask, "Connect", connect, &response, options).ok() &&
            response.shim_pid() == connected.shim_pid()) {
          ++ok;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 100);

  // Shutdown: the shim exits and removes its socket. It may close the connection before the
  // reply makes it out (containerd ignores that too).
  containerd::task::v2::ShutdownRequest shutdown;
  shutdown.set_id("test");
  status = (*client)->Call(kTask, "Shutdown", shutdown, &empty, options);
  EXPECT_TRUE(status.ok() || absl::IsUnavailable(status)) << status;
  EXPECT_TRUE(WaitExit(shim_pid_, absl::Seconds(10))) << "shim did not exit";
  for (int i = 0; i < 100 && access(socket_path_.c_str(), F_OK) == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_NE(access(socket_path_.c_str(), F_OK), 0) << socket_path_ << " left behind";
  // The connection is gone: calls fail with Unavailable.
  for (int i = 0; i < 100 && !(*client)->closed(); ++i) absl::SleepFor(absl::Milliseconds(20));
  status = (*client)->Call(kTask, "Connect", connect, &connected, options);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
}

// The other direction: the shim's Go ttrpc client forwards task events to our server. Runs a
// real container (the host's root filesystem, bound read-only) through the shim and runc.
TEST_F(ShimInteropTest, GoClientForwardsTaskEventsToOurServer) {
  if (access("/usr/sbin/runc", X_OK) != 0 && access("/usr/bin/runc", X_OK) != 0) {
    GTEST_SKIP() << "runc is not installed";
  }
  std::string rootfs = bundle_->path() + "/rootfs";
  ASSERT_EQ(mkdir(rootfs.c_str(), 0755), 0);
  ASSERT_EQ(mount("/", rootfs.c_str(), nullptr, MS_BIND, nullptr), 0) << strerror(errno);
  std::ofstream(bundle_->path() + "/config.json", std::ios::trunc) << R"({"ociVersion":"1.0.2",
  "process":{"terminal":false,"user":{"uid":0,"gid":0},"args":["/bin/sh","-c","exit 7"],
             "env":["PATH=/usr/bin:/bin"],"cwd":"/"},
  "root":{"path":"rootfs","readonly":true},
  "mounts":[{"destination":"/proc","type":"proc","source":"proc"}],
  "linux":{"namespaces":[{"type":"mount"},{"type":"pid"}]}})";
  std::string id = "berth-ttrpc-" + std::to_string(getpid());
  std::string address = StartShim(id);
  ASSERT_TRUE(absl::StartsWith(address, "unix://")) << address;
  socket_path_ = std::string(absl::StripPrefix(address, "unix://"));
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(address);
  ASSERT_TRUE(client.ok()) << client.status();
  CallOptions options{.metadata = Metadata::WithNamespace(kNamespace),
                      .timeout = absl::Seconds(20)};

  containerd::task::v2::ConnectRequest connect;
  connect.set_id(id);
  containerd::task::v2::ConnectResponse connected;
  ASSERT_TRUE((*client)->Call(kTask, "Connect", connect, &connected, options).ok());
  shim_pid_ = static_cast<pid_t>(connected.shim_pid());

  containerd::task::v2::CreateTaskRequest create;
  create.set_id(id);
  create.set_bundle(bundle_->path());
  containerd::task::v2::CreateTaskResponse created;
  absl::Status status = (*client)->Call(kTask, "Create", create, &created, options);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_GT(created.pid(), 0u);

  // Wait is long-blocking on the Go side; start it before the process can exit.
  containerd::task::v2::WaitRequest wait;
  wait.set_id(id);
  containerd::task::v2::WaitResponse waited;
  std::thread waiter([&] {
    absl::Status wait_status = (*client)->Call(kTask, "Wait", wait, &waited, options);
    EXPECT_TRUE(wait_status.ok()) << wait_status;
  });
  containerd::task::v2::StartRequest start;
  start.set_id(id);
  containerd::task::v2::StartResponse started;
  status = (*client)->Call(kTask, "Start", start, &started, options);
  EXPECT_TRUE(status.ok()) << status;
  waiter.join();
  EXPECT_EQ(waited.exit_status(), 7u);

  containerd::task::v2::DeleteRequest del;
  del.set_id(id);
  containerd::task::v2::DeleteResponse deleted;
  status = (*client)->Call(kTask, "Delete", del, &deleted, options);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(deleted.exit_status(), 7u);

  // Every event arrived through our server, with the namespace in envelope and metadata.
  std::vector<std::string> want = {"/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"};
  std::vector<Event> seen;
  for (int i = 0; i < 250; ++i) {
    seen = EventsSeen();
    int found = 0;
    for (const std::string& topic : want) {
      for (const Event& event : seen) found += event.topic == topic;
    }
    if (found >= 4) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  for (const std::string& topic : want) {
    bool found = false;
    for (const Event& event : seen) {
      if (event.topic != topic) continue;
      found = true;
      EXPECT_EQ(event.envelope_namespace, kNamespace);
      EXPECT_EQ(event.metadata_namespace, kNamespace);
    }
    EXPECT_TRUE(found) << topic << " not forwarded";
  }

  containerd::task::v2::ShutdownRequest shutdown;
  shutdown.set_id(id);
  google::protobuf::Empty empty;
  status = (*client)->Call(kTask, "Shutdown", shutdown, &empty, options);
  EXPECT_TRUE(status.ok() || absl::IsUnavailable(status)) << status;
  EXPECT_TRUE(WaitExit(shim_pid_, absl::Seconds(10))) << "shim did not exit";
}

}  // namespace
}  // namespace berth::ttrpc
