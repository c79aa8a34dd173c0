// berthd as a process: its printed default config starts it, socket permissions, daemons side
// by side, clean stops on SIGTERM/SIGINT (also with a subscriber connected), and a bad config.

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include "absl/strings/match.h"
#include "containerd/services/events/v1/events.grpc.pb.h"
#include "containerd/services/introspection/v1/introspection.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/integration_util.h"
#include "tests/testutil/process.h"

namespace berth::testutil {
namespace {

using ::testing::HasSubstr;
namespace events_api = containerd::services::events::v1;
namespace introspection_api = containerd::services::introspection::v1;

std::string Uuid(TestDaemon& daemon) {
  auto stub = introspection_api::Introspection::NewStub(daemon.NewChannel());
  grpc::ClientContext context;
  introspection_api::ServerResponse response;
  EXPECT_TRUE(stub->Server(&context, {}, &response).ok());
  return response.uuid();
}

TEST(BerthdProcessTest, PrintedDefaultConfigStartsTheDaemon) {
  absl::StatusOr<CommandResult> printed = RunCommand({TestDaemon::BinaryPath(), "config", "default"});
  ASSERT_TRUE(printed.ok()) << printed.status();
  ASSERT_TRUE(printed->ok()) << printed->Describe();
  EXPECT_THAT(printed->out, HasSubstr("version = 2"));
  EXPECT_THAT(printed->out, HasSubstr("io.containerd.metadata.v1.rocksdb"));
  DaemonOptions options;
  options.config_text = printed->out;  // --root/--state/--address still override it
  absl::StatusOr<std::unique_ptr<TestDaemon>> daemon = TestDaemon::Start(options);
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  EXPECT_TRUE((*daemon)->Healthy());
}

TEST(BerthdProcessTest, BadConfigFailsStartWithAMessage) {
  DaemonOptions options;
  options.config_text = "root = 5\n";
  options.start_timeout = std::chrono::seconds(10);
  absl::StatusOr<std::unique_ptr<TestDaemon>> daemon = TestDaemon::Start(options);
  ASSERT_FALSE(daemon.ok());
  EXPECT_THAT(daemon.status().message(), HasSubstr("exited during start-up"));
  EXPECT_THAT(daemon.status().message(), HasSubstr("root"));
}

TEST(BerthdProcessTest, SocketPermissions) {
  absl::StatusOr<std::unique_ptr<TestDaemon>> daemon = TestDaemon::Start();
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  struct stat socket_stat, dir_stat;
  ASSERT_EQ(stat((*daemon)->address().c_str(), &socket_stat), 0);
  EXPECT_TRUE(S_ISSOCK(socket_stat.st_mode));
  EXPECT_EQ(socket_stat.st_mode & 07777, 0660u);
  ASSERT_EQ(stat((*daemon)->dir().c_str(), &dir_stat), 0);
  EXPECT_EQ(dir_stat.st_mode & 07777, 0711u);
  // A clean stop removes the socket.
  ASSERT_TRUE((*daemon)->Stop().ok());
  EXPECT_NE(stat((*daemon)->address().c_str(), &socket_stat), 0);
}

TEST(BerthdProcessTest, DaemonsSideBySideAreIndependent) {
  absl::StatusOr<std::unique_ptr<TestDaemon>> one = TestDaemon::Start();
  absl::StatusOr<std::unique_ptr<TestDaemon>> two = TestDaemon::Start();
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_NE((*one)->address(), (*two)->address());
  EXPECT_NE(Uuid(**one), Uuid(**two));
  auto stub_one = containers_api::Containers::NewStub((*one)->NewChannel());
  auto stub_two = containers_api::Containers::NewStub((*two)->NewChannel());
  ASSERT_TRUE(CreateContainer(*stub_one, "default", TestContainer("only-in-one")).ok());
  std::vector<std::string> ids;
  ASSERT_TRUE(ListContainerIds(*stub_two, "default", ids).ok());
  EXPECT_TRUE(ids.empty());
  ASSERT_TRUE(ListContainerIds(*stub_one, "default", ids).ok());
  EXPECT_EQ(ids, std::vector<std::string>{"only-in-one"});
}

// A second daemon on the first one's root, or on its socket, stops before touching anything:
// the first keeps its socket and serves on.
TEST(BerthdProcessTest, SecondDaemonOnTheSameRootOrSocketRefusesToStart) {
  absl::StatusOr<std::unique_ptr<TestDaemon>> first = TestDaemon::Start();
  ASSERT_TRUE(first.ok()) << first.status();
  TestDaemon& daemon = **first;
  std::string other = daemon.dir() + "/other";
  RunOptions options;
  options.timeout = std::chrono::seconds(20);
  struct Case {
    std::string root, state, address, message;
  } cases[] = {
      {daemon.root(), other + "/state1", other + "/one.sock", "uses the root directory"},
      {other + "/root2", daemon.state(), other + "/two.sock", "uses the state directory"},
      {other + "/root3", other + "/state3", daemon.address(), "another daemon serves on"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<CommandResult> second =
        RunCommand({TestDaemon::BinaryPath(), "--root", c.root, "--state", c.state, "--address",
                    c.address, "--log-level", "info"},
                   options);
    ASSERT_TRUE(second.ok()) << second.status();
    EXPECT_FALSE(second->timed_out) << second->Describe();
    EXPECT_NE(second->exit_code, 0) << second->Describe();
    EXPECT_THAT(second->out + second->err, HasSubstr(c.message)) << second->Describe();
    if (c.message != "another daemon serves on") {
      EXPECT_THAT(second->out + second->err, HasSubstr(absl::StrCat("pid ", daemon.pid())));
    }
    struct stat socket_stat;
    EXPECT_EQ(stat(daemon.address().c_str(), &socket_stat), 0) << "the first daemon's socket";
    EXPECT_TRUE(daemon.Healthy()) << c.message;
  }
  EXPECT_FALSE(Uuid(daemon).empty());
}

TEST(BerthdProcessTest, SigintStopsCleanly) {
  absl::StatusOr<std::unique_ptr<TestDaemon>> daemon = TestDaemon::Start();
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  absl::StatusOr<int> status = (*daemon)->Kill(SIGINT);
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << DescribeWaitStatus(*status);
  EXPECT_THAT((*daemon)->ReadLog(), HasSubstr("stopped"));
}

TEST(BerthdProcessTest, SigtermWithSubscriberConnectedStopsPromptly) {
  absl::StatusOr<std::unique_ptr<TestDaemon>> daemon = TestDaemon::Start();
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  auto events = events_api::Events::NewStub((*daemon)->NewChannel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  std::unique_ptr<grpc::ClientReader<events_api::Envelope>> reader =
      events->Subscribe(&context, events_api::SubscribeRequest());
  reader->WaitForInitialMetadata();  // the subscription is in place

  std::thread drain([&] {
    events_api::Envelope envelope;
    while (reader->Read(&envelope)) {
    }
  });
  auto start = std::chrono::steady_clock::now();
  absl::Status stop = (*daemon)->Stop();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  drain.join();
  grpc::Status finished = reader->Finish();
  ASSERT_TRUE(stop.ok()) << stop;
  // An open Events.Subscribe stream must not hold the shutdown for the whole grace period.
  // Well under the 10 s grace, with room for a loaded machine.
  EXPECT_LT(seconds, 8.0) << "SIGTERM took " << seconds << " s with a subscriber connected";
  EXPECT_FALSE(finished.ok());
}

}  // namespace
}  // namespace berth::testutil
