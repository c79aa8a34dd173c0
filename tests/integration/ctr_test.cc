// Debian's containerd 1.6 `ctr` against berthd: version, plugins, namespaces, containers created
// through the gRPC API, leases and events, checked on ctr's own output.

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "containerd/services/introspection/v1/introspection.grpc.pb.h"
#include "containerd/services/version/v1/version.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/integration_util.h"
#include "tests/testutil/process.h"

namespace berth::testutil {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

namespace introspection_api = containerd::services::introspection::v1;
namespace version_api = containerd::services::version::v1;

constexpr char kCtr[] = "/usr/bin/ctr";

class CtrTest : public DaemonTest {
 protected:
  void SetUp() override {
    if (access(kCtr, X_OK) != 0) GTEST_SKIP() << kCtr << " is not installed";
    DaemonTest::SetUp();
  }

  // Runs `ctr -a <socket> [-n ns] args...`.
  CommandResult Ctr(const std::vector<std::string>& args, const std::string& ns = "") {
    std::vector<std::string> argv = {kCtr, "-a", daemon_->address()};
    if (!ns.empty()) argv.insert(argv.end(), {"-n", ns});
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions options;
    options.timeout = std::chrono::seconds(30);
    // Nothing from the caller's environment may redirect ctr.
    options.env = {"CONTAINERD_ADDRESS=", "CONTAINERD_NAMESPACE=default"};
    absl::StatusOr<CommandResult> result = RunCommand(argv, options);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : CommandResult{};
  }

  // The value after "<key>:" on the first line of the "Server:" block.
  static std::string ServerField(const std::string& out, const std::string& key) {
    size_t server = out.find("Server:");
    if (server == std::string::npos) return "";
    std::regex pattern("\\n\\s*" + key + ":\\s*(\\S+)");
    std::smatch match;
    std::string rest = out.substr(server);
    return std::regex_search(rest, match, pattern) ? match[1].str() : "";
  }
};

TEST_F(CtrTest, VersionShowsServerVersionAndStableUuid) {
  CommandResult first = Ctr({"version"});
  ASSERT_TRUE(first.ok()) << first.Describe();

  auto version_stub = version_api::Version::NewStub(channel_);
  grpc::ClientContext version_context;
  version_api::VersionResponse version;
  ASSERT_TRUE(version_stub->Version(&version_context, {}, &version).ok());
  EXPECT_EQ(ServerField(first.out, "Version"), version.version()) << first.out;
  EXPECT_EQ(ServerField(first.out, "Revision"), version.revision()) << first.out;

  std::string uuid = ServerField(first.out, "UUID");
  EXPECT_TRUE(std::regex_match(
      uuid, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << "UUID `" << uuid << "` in\n" << first.out;
  auto introspection = introspection_api::Introspection::NewStub(channel_);
  grpc::ClientContext server_context;
  introspection_api::ServerResponse server;
  ASSERT_TRUE(introspection->Server(&server_context, {}, &server).ok());
  EXPECT_EQ(server.uuid(), uuid);

  ASSERT_TRUE(daemon_->Restart().ok());
  CommandResult second = Ctr({"version"});
  ASSERT_TRUE(second.ok()) << second.Describe();
  EXPECT_EQ(ServerField(second.out, "UUID"), uuid) << "the UUID changed across a restart";

  // After SIGKILL too: the UUID was written durably the first time.
  ASSERT_TRUE(daemon_->Kill(SIGKILL).ok());
  ASSERT_TRUE(daemon_->StartProcess().ok());
  CommandResult third = Ctr({"version"});
  ASSERT_TRUE(third.ok()) << third.Describe();
  EXPECT_EQ(ServerField(third.out, "UUID"), uuid);
}

TEST_F(CtrTest, PluginsLsListsEveryPluginOk) {
  auto introspection = introspection_api::Introspection::NewStub(channel_);
  grpc::ClientContext context;
  introspection_api::PluginsRequest request;
  introspection_api::PluginsResponse plugins;
  ASSERT_TRUE(introspection->Plugins(&context, request, &plugins).ok());
  ASSERT_GT(plugins.plugins_size(), 0);

  CommandResult ls = Ctr({"plugins", "ls"});
  ASSERT_TRUE(ls.ok()) << ls.Describe();
  EXPECT_THAT(ls.out, HasSubstr("TYPE"));
  EXPECT_THAT(ls.out, HasSubstr("STATUS"));
  std::vector<std::vector<std::string>> rows = TableRows(ls.out);
  ASSERT_EQ(rows.size(), static_cast<size_t>(plugins.plugins_size())) << ls.out;
  // Each plugin's status as ctr derives it from init_err: ok, skip ("skip plugin" in the
  // message: does not apply on this host) or error. No plugin may be in error.
  std::map<std::string, std::string> expected_status;
  for (const auto& plugin : plugins.plugins()) {
    std::string status = !plugin.has_init_err()                                   ? "ok"
                         : absl::StrContains(plugin.init_err().message(), "skip plugin") ? "skip"
                                                                                    : "error";
    expected_status[plugin.type() + "." + plugin.id()] = status;
    EXPECT_NE(status, "error") << plugin.type() << "." << plugin.id() << ": "
                               << plugin.init_err().message();
  }
  std::set<std::string> listed;
  for (const auto& row : rows) {
    ASSERT_EQ(row.size(), 4u) << absl::StrJoin(row, " ");
    std::string uri = row[0] + "." + row[1];
    EXPECT_EQ(row[3], expected_status[uri]) << "plugin " << uri << " in\n" << ls.out;
    EXPECT_NE(row[3], "error") << "plugin " << uri << " in\n" << ls.out;
    listed.insert(uri);
  }
  for (const auto& plugin : plugins.plugins()) {
    EXPECT_TRUE(listed.contains(plugin.type() + "." + plugin.id()))
        << plugin.type() << "." << plugin.id() << " missing from\n" << ls.out;
  }
  // The services ctr needs are among them, and loaded.
  for (const char* uri : {"io.containerd.grpc.v1.containers", "io.containerd.grpc.v1.namespaces",
                          "io.containerd.grpc.v1.leases", "io.containerd.grpc.v1.events",
                          "io.containerd.grpc.v1.version", "io.containerd.grpc.v1.introspection"}) {
    EXPECT_EQ(expected_status[uri], "ok") << uri;
  }

  // Filters are applied by the daemon.
  CommandResult filtered = Ctr({"plugins", "ls", "type==io.containerd.grpc.v1"});
  ASSERT_TRUE(filtered.ok()) << filtered.Describe();
  std::vector<std::vector<std::string>> grpc_rows = TableRows(filtered.out);
  EXPECT_FALSE(grpc_rows.empty());
  EXPECT_LT(grpc_rows.size(), rows.size());
  for (const auto& row : grpc_rows) EXPECT_EQ(row[0], "io.containerd.grpc.v1");
}

TEST_F(CtrTest, NamespacesCreateListLabelRemove) {
  CommandResult create = Ctr({"namespaces", "create", "team-a", "owner=alice", "tier=gold"});
  ASSERT_TRUE(create.ok()) << create.Describe();
  ASSERT_TRUE(Ctr({"ns", "create", "team-b"}).ok());

  CommandResult ls = Ctr({"namespaces", "ls"});
  ASSERT_TRUE(ls.ok()) << ls.Describe();
  EXPECT_THAT(TableRows(ls.out), Contains(ElementsAre("team-a", "owner=alice,tier=gold")))
      << ls.out;
  EXPECT_THAT(TableRows(ls.out), Contains(ElementsAre("team-b"))) << ls.out;

  // Creating it again fails.
  CommandResult again = Ctr({"ns", "create", "team-a"});
  EXPECT_NE(again.exit_code, 0) << again.Describe();
  EXPECT_THAT(again.err, HasSubstr("already exists"));

  // label: set one, change one, remove one (empty value).
  CommandResult label = Ctr({"namespaces", "label", "team-a", "tier=", "owner=bob", "zone=eu"});
  ASSERT_TRUE(label.ok()) << label.Describe();
  ls = Ctr({"namespaces", "ls"});
  EXPECT_THAT(TableRows(ls.out), Contains(ElementsAre("team-a", "owner=bob,zone=eu"))) << ls.out;
  CommandResult quiet = Ctr({"ns", "ls", "-q"});
  EXPECT_THAT(quiet.out, HasSubstr("team-a\n"));

  // A namespace holding a container cannot be removed, and says why.
  ASSERT_TRUE(CreateContainer(*containers_, "team-a", TestContainer("c1")).ok());
  CommandResult rm_busy = Ctr({"namespaces", "rm", "team-a"});
  EXPECT_NE(rm_busy.exit_code, 0) << rm_busy.Describe();
  EXPECT_THAT(rm_busy.err, HasSubstr("team-a"));
  EXPECT_THAT(rm_busy.err, HasSubstr("must be empty"));
  EXPECT_THAT(Ctr({"ns", "ls", "-q"}).out, HasSubstr("team-a\n"));

  // Empty it, then it goes.
  auto context = NamespacedContext("team-a");
  containers_api::DeleteContainerRequest del;
  del.set_id("c1");
  google::protobuf::Empty empty;
  ASSERT_TRUE(containers_->Delete(context.get(), del, &empty).ok());
  CommandResult rm = Ctr({"namespaces", "rm", "team-a", "team-b"});
  ASSERT_TRUE(rm.ok()) << rm.Describe();
  EXPECT_EQ(rm.out, "team-a\nteam-b\n");
  ls = Ctr({"ns", "ls", "-q"});
  EXPECT_THAT(ls.out, Not(HasSubstr("team-a")));
  EXPECT_THAT(ls.out, Not(HasSubstr("team-b")));
}

TEST_F(CtrTest, ContainersLsAndInfoShowApiCreatedContainers) {
  ASSERT_TRUE(CreateContainer(*containers_, "default",
                              TestContainer("web-1", {{"app", "web"}, {"tier", "front"}},
                                            "docker.io/library/nginx:latest"))
                  .ok());
  ASSERT_TRUE(CreateContainer(*containers_, "default", TestContainer("db-1", {{"app", "db"}})).ok());
  ASSERT_TRUE(CreateContainer(*containers_, "other", TestContainer("elsewhere")).ok());

  CommandResult ls = Ctr({"containers", "ls"});
  ASSERT_TRUE(ls.ok()) << ls.Describe();
  EXPECT_THAT(ls.out, HasSubstr("CONTAINER"));
  std::vector<std::vector<std::string>> rows = TableRows(ls.out);
  EXPECT_THAT(rows, ElementsAre(ElementsAre("db-1", "-", kRuncV2),
                                ElementsAre("web-1", "docker.io/library/nginx:latest", kRuncV2)))
      << ls.out;

  CommandResult other = Ctr({"c", "ls", "-q"}, "other");
  ASSERT_TRUE(other.ok()) << other.Describe();
  EXPECT_EQ(other.out, "elsewhere\n");

  CommandResult filtered = Ctr({"c", "ls", "labels.app==web"});
  ASSERT_TRUE(filtered.ok()) << filtered.Describe();
  EXPECT_THAT(TableRows(filtered.out), ElementsAre(ElementsAre(
                                           "web-1", "docker.io/library/nginx:latest", kRuncV2)));

  CommandResult info = Ctr({"containers", "info", "web-1"});
  ASSERT_TRUE(info.ok()) << info.Describe();
  nlohmann::json parsed = nlohmann::json::parse(info.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(parsed.is_discarded()) << info.out;
  EXPECT_EQ(parsed["ID"], "web-1");
  EXPECT_EQ(parsed["Image"], "docker.io/library/nginx:latest");
  EXPECT_EQ(parsed["Labels"], nlohmann::json({{"app", "web"}, {"tier", "front"}}));
  EXPECT_EQ(parsed["Runtime"]["Name"], kRuncV2);
  EXPECT_EQ(parsed["Spec"], nlohmann::json::parse(TestSpecJson())) << info.out;
  EXPECT_TRUE(parsed.contains("CreatedAt"));

  CommandResult spec = Ctr({"containers", "info", "--spec", "web-1"});
  ASSERT_TRUE(spec.ok()) << spec.Describe();
  EXPECT_EQ(nlohmann::json::parse(spec.out, nullptr, false), nlohmann::json::parse(TestSpecJson()))
      << spec.out;

  // ctr c label goes through Containers.Update with a labels.<key> mask.
  CommandResult label = Ctr({"containers", "label", "db-1", "backup=nightly", "app="});
  ASSERT_TRUE(label.ok()) << label.Describe();
  info = Ctr({"c", "info", "db-1"});
  parsed = nlohmann::json::parse(info.out, nullptr, false);
  EXPECT_EQ(parsed["Labels"], nlohmann::json({{"backup", "nightly"}})) << info.out;

  CommandResult missing = Ctr({"c", "info", "nope"});
  EXPECT_NE(missing.exit_code, 0) << missing.Describe();
  EXPECT_THAT(missing.err, HasSubstr("not found"));
}

TEST_F(CtrTest, LeasesCreateListRemove) {
  CommandResult create = Ctr({"leases", "create", "--id", "lease-1", "purpose=test"});
  ASSERT_TRUE(create.ok()) << create.Describe();
  EXPECT_EQ(create.out, "lease-1\n");
  CommandResult ls = Ctr({"leases", "ls"});
  ASSERT_TRUE(ls.ok()) << ls.Describe();
  bool found_first = false;
  for (const auto& row : TableRows(ls.out)) {
    ASSERT_EQ(row.size(), 3u) << ls.out;
    if (row[0] == "lease-1") {
      found_first = true;
      // ctr sets the gc.expire label from --expires (default 24h); ours is kept too.
      EXPECT_THAT(row[2], HasSubstr("containerd.io/gc.expire="));
      EXPECT_THAT(row[2], HasSubstr("purpose=test"));
    }
  }
  EXPECT_TRUE(found_first) << ls.out;

  CommandResult filtered = Ctr({"leases", "ls", "id==lease-1"});
  ASSERT_TRUE(filtered.ok()) << filtered.Describe();
  ASSERT_EQ(TableRows(filtered.out).size(), 1u) << filtered.out;

  ASSERT_TRUE(Ctr({"leases", "create", "--id", "lease-2", "--expires", "0"}).ok());
  CommandResult rm = Ctr({"leases", "rm", "lease-1", "lease-2"});
  ASSERT_TRUE(rm.ok()) << rm.Describe();
  EXPECT_EQ(rm.out, "lease-1\nlease-2\n");
  EXPECT_TRUE(TableRows(Ctr({"leases", "ls"}).out).empty());

  CommandResult rm_again = Ctr({"leases", "rm", "lease-1"});
  EXPECT_NE(rm_again.exit_code, 0) << rm_again.Describe();
  EXPECT_THAT(rm_again.err, HasSubstr("not found"));
}

TEST_F(CtrTest, LeasesCreateWithoutIdGetsAGeneratedId) {
  // ctr sends an empty id; containerd's Leases service then picks a random one.
  CommandResult generated = Ctr({"leases", "create", "--expires", "0"});
  ASSERT_TRUE(generated.ok()) << generated.Describe();
  std::string generated_id(absl::StripAsciiWhitespace(generated.out));
  ASSERT_FALSE(generated_id.empty());
  CommandResult ls = Ctr({"leases", "ls", "-q"});
  EXPECT_EQ(ls.out, generated_id + "\n");
  EXPECT_TRUE(Ctr({"leases", "rm", generated_id}).ok());
}

TEST_F(CtrTest, EventsShowsNamespaceCreate) {
  absl::StatusOr<std::unique_ptr<BackgroundProcess>> events =
      BackgroundProcess::Start({kCtr, "-a", daemon_->address(), "events"});
  ASSERT_TRUE(events.ok()) << events.status();

  // `ctr events` subscribes asynchronously: keep creating namespaces until one is seen.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::string seen_name;
  for (int i = 0; seen_name.empty() && std::chrono::steady_clock::now() < deadline; ++i) {
    std::string name = absl::StrCat("ev-", i);
    CommandResult create = Ctr({"namespaces", "create", name, "k=v"});
    ASSERT_TRUE(create.ok()) << create.Describe();
    if ((*events)->WaitForStdout(absl::StrCat("\"name\":\"", name, "\""),
                                 std::chrono::milliseconds(500))) {
      seen_name = name;
    }
    ASSERT_TRUE((*events)->Running()) << "ctr events exited: " << (*events)->Stderr();
  }
  ASSERT_FALSE(seen_name.empty()) << "stdout:\n"
                                  << (*events)->Stdout() << "\nstderr:\n"
                                  << (*events)->Stderr();
  // "<timestamp> <namespace> <topic> <json>"
  std::string out = (*events)->Stdout();
  std::regex line(R"( \S+ /namespaces/create \{"name":")" + seen_name +
                  R"(","labels":\{"k":"v"\}\})");
  EXPECT_TRUE(std::regex_search(out, line)) << out;

  // Label changes arrive as /namespaces/update.
  ASSERT_TRUE(Ctr({"namespaces", "label", seen_name, "k=w"}).ok());
  EXPECT_TRUE((*events)->WaitForStdout("/namespaces/update", std::chrono::seconds(10)))
      << (*events)->Stdout();

  (*events)->Kill(SIGTERM);
  ExpectHealthy();
}

}  // namespace
}  // namespace berth::testutil
