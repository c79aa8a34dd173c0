// Crash safety: berthd is SIGKILLed while 8 client threads create 1,000 containers. Every
// create that was acknowledged must be there after a restart on the same root, and the
// database must open cleanly; a clean SIGTERM stop and another restart keep everything.

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "containerd/services/introspection/v1/introspection.grpc.pb.h"
#include "containerd/services/namespaces/v1/namespaces.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/integration_util.h"
#include "tests/testutil/process.h"

namespace berth::testutil {
namespace {

namespace introspection_api = containerd::services::introspection::v1;
namespace namespaces_api = containerd::services::namespaces::v1;

constexpr int kThreads = 8;
constexpr int kContainers = 1000;
constexpr int kPerThread = kContainers / kThreads;
// berthd is killed by the client that receives this many acknowledgements in total, so the
// kill lands while the other creates are in flight.
constexpr int kKillAfterAcks = 400;
constexpr char kNamespace[] = "crash";

std::string ContainerId(int thread, int i) { return absl::StrCat("crash-", thread, "-", i); }

struct Outcome {
  std::mutex mu;
  std::set<std::string> acknowledged;  // Create returned OK
  std::set<std::string> attempted;
  std::vector<std::string> unexpected;  // errors before the kill
};

class CrashTest : public DaemonTest {
 protected:
  // Every acknowledged container is present with its labels and spec, and nothing that was
  // never attempted appeared. Returns the number of containers listed.
  size_t VerifyAfterRestart(const Outcome& outcome, const std::string& when) {
    std::shared_ptr<grpc::Channel> channel = daemon_->NewChannel();
    auto stub = containers_api::Containers::NewStub(channel);
    size_t missing = 0;
    for (const std::string& id : outcome.acknowledged) {
      auto context = NamespacedContext(kNamespace);
      containers_api::GetContainerRequest request;
      request.set_id(id);
      containers_api::GetContainerResponse response;
      grpc::Status status = stub->Get(context.get(), request, &response);
      if (!status.ok()) {
        if (++missing <= 10) ADD_FAILURE() << when << ": acknowledged " << id << " -> " << StatusText(status);
        continue;
      }
      EXPECT_EQ(response.container().labels().at("id"), id);
      EXPECT_EQ(response.container().spec().type_url(), kSpecTypeUrl);
      EXPECT_EQ(response.container().spec().value(), TestSpecJson(id));
      EXPECT_EQ(response.container().runtime().name(), kRuncV2);
    }
    EXPECT_EQ(missing, 0u) << when << ": acknowledged containers lost";

    std::vector<std::string> listed;
    grpc::Status status = ListContainerIds(*stub, kNamespace, listed);
    EXPECT_TRUE(status.ok()) << StatusText(status);
    EXPECT_GE(listed.size(), outcome.acknowledged.size()) << when;
    for (const std::string& id : listed) {
      EXPECT_TRUE(outcome.attempted.contains(id)) << when << ": never created " << id;
    }

    // The database opened cleanly: every plugin loaded, the namespace record was committed
    // with the containers.
    auto introspection = introspection_api::Introspection::NewStub(channel);
    grpc::ClientContext plugins_context;
    introspection_api::PluginsResponse plugins;
    EXPECT_TRUE(introspection->Plugins(&plugins_context, {}, &plugins).ok());
    for (const auto& plugin : plugins.plugins()) {
      // Skipped plugins do not apply on this host; anything else must have loaded.
      EXPECT_TRUE(!plugin.has_init_err() ||
                  absl::StrContains(plugin.init_err().message(), "skip plugin"))
          << when << ": " << plugin.type() << "." << plugin.id() << ": "
          << plugin.init_err().message();
    }
    auto namespaces = namespaces_api::Namespaces::NewStub(channel);
    grpc::ClientContext ns_context;
    namespaces_api::ListNamespacesResponse all;
    EXPECT_TRUE(namespaces->List(&ns_context, {}, &all).ok());
    bool found = false;
    for (const auto& ns : all.namespaces()) found |= ns.name() == kNamespace;
    EXPECT_EQ(found, !listed.empty()) << when;
    return listed.size();
  }
};

TEST_F(CrashTest, AcknowledgedCreatesSurviveSigkill) {
  const pid_t pid = daemon_->pid();
  Outcome outcome;
  std::atomic<int> acks{0};
  std::atomic<bool> killed{false};

  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      // Each client has its own connection.
      std::shared_ptr<grpc::Channel> channel = daemon_->NewChannel();
      auto stub = containers_api::Containers::NewStub(channel);
      for (int i = 0; i < kPerThread; ++i) {
        std::string id = ContainerId(t, i);
        containers_api::Container container = TestContainer(id, {{"id", id}, {"thread", absl::StrCat(t)}});
        container.mutable_spec()->set_value(TestSpecJson(id));
        {
          std::lock_guard<std::mutex> lock(outcome.mu);
          outcome.attempted.insert(id);
        }
        bool kill_happened_before = killed.load();
        grpc::Status status = CreateContainer(*stub, kNamespace, container);
        std::lock_guard<std::mutex> lock(outcome.mu);
        if (status.ok()) {
          outcome.acknowledged.insert(id);
          if (acks.fetch_add(1) + 1 == kKillAfterAcks) {
            kill(pid, SIGKILL);  // by PID; the main thread reaps it
            killed.store(true);
          }
        } else if (kill_happened_before || killed.load()) {
          return;  // the daemon is gone: this client is done
        } else {
          outcome.unexpected.push_back(absl::StrCat(id, ": ", StatusText(status)));
          return;
        }
      }
    });
  }
  for (std::thread& client : clients) client.join();

  ASSERT_TRUE(outcome.unexpected.empty()) << outcome.unexpected.front();
  ASSERT_TRUE(killed.load()) << "all creates finished before the kill threshold";
  absl::StatusOr<int> status = daemon_->Kill(SIGKILL);  // reaps
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL) << DescribeWaitStatus(*status);
  ASSERT_GE(outcome.acknowledged.size(), static_cast<size_t>(kKillAfterAcks));
  ASSERT_LT(outcome.acknowledged.size(), static_cast<size_t>(kContainers));

  ASSERT_TRUE(daemon_->StartProcess().ok());
  size_t after_kill = VerifyAfterRestart(outcome, "after SIGKILL");

  // A clean stop, and everything again.
  absl::Status stop = daemon_->Stop();
  ASSERT_TRUE(stop.ok()) << stop;
  ASSERT_TRUE(daemon_->StartProcess().ok());
  EXPECT_EQ(VerifyAfterRestart(outcome, "after SIGTERM"), after_kill);

  // The database still takes writes after the crash.
  auto stub = containers_api::Containers::NewStub(daemon_->NewChannel());
  EXPECT_TRUE(CreateContainer(*stub, kNamespace, TestContainer("after-crash")).ok());
}

TEST_F(CrashTest, AllCreatesAcknowledgedWithoutCrashSurviveRestart) {
  // The same load without a kill: all 1,000 are acknowledged and all survive SIGTERM + restart.
  Outcome outcome;
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      auto stub = containers_api::Containers::NewStub(daemon_->NewChannel());
      for (int i = 0; i < kPerThread; ++i) {
        std::string id = ContainerId(t, i);
        containers_api::Container container = TestContainer(id, {{"id", id}});
        container.mutable_spec()->set_value(TestSpecJson(id));
        grpc::Status status = CreateContainer(*stub, kNamespace, container);
        std::lock_guard<std::mutex> lock(outcome.mu);
        outcome.attempted.insert(id);
        if (status.ok()) {
          outcome.acknowledged.insert(id);
        } else {
          outcome.unexpected.push_back(absl::StrCat(id, ": ", StatusText(status)));
        }
      }
    });
  }
  for (std::thread& client : clients) client.join();
  ASSERT_TRUE(outcome.unexpected.empty()) << outcome.unexpected.front();
  ASSERT_EQ(outcome.acknowledged.size(), static_cast<size_t>(kContainers));
  ASSERT_TRUE(daemon_->Restart().ok());
  EXPECT_EQ(VerifyAfterRestart(outcome, "after restart"), static_cast<size_t>(kContainers));
}

}  // namespace
}  // namespace berth::testutil
