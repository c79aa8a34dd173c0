// Tests of the plugin registry (plugins/registry.h): ordering by requirements, cycles, the skip
// outcome, failures and required plugins, per-plugin config, and reverse-order shutdown.

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugins/base/temp_dir.h"
#include "plugins/registry.h"
#include "plugins/types.h"
#include "services/metadata/metadata.h"

namespace berth::plugins {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A plugin instance that records its destruction.
struct Probe {
  Probe(std::string name, std::vector<std::string>* log) : name(std::move(name)), log(log) {}
  ~Probe() { log->push_back(name); }
  std::string name;
  std::vector<std::string>* log;
};

class RegistryTest : public ::testing::Test {
 protected:
  // Registers type.id requiring `requires_types`; its init records the call, fetches every
  // required type (failing if one is missing) and returns a Probe.
  void Add(const std::string& type, const std::string& id, std::vector<std::string> requires_types = {},
           std::string default_config = "") {
    absl::Status status = registry_.Register(Registration{
        .type = type,
        .id = id,
        .requires_types = requires_types,
        .default_config = std::move(default_config),
        .init = [this, requires_types](InitContext& context) -> absl::StatusOr<Instance> {
          init_order_.push_back(context.registration().uri());
          for (const std::string& required : requires_types) {
            if (required == kAllPlugins) continue;
            absl::StatusOr<Probe*> dependency = context.Get<Probe>(required);
            if (!dependency.ok()) return dependency.status();
          }
          return Instance::Of(std::make_unique<Probe>(context.registration().uri(), &destroyed_));
        }});
    ASSERT_TRUE(status.ok()) << status;
  }

  std::vector<std::string> GraphUris(const std::set<std::string>& disabled = {}) {
    absl::StatusOr<std::vector<const Registration*>> graph = registry_.Graph(disabled);
    EXPECT_TRUE(graph.ok()) << graph.status();
    std::vector<std::string> out;
    if (graph.ok()) {
      for (const Registration* r : *graph) out.push_back(r->uri());
    }
    return out;
  }

  const PluginStatus* StatusOf(const std::string& uri) {
    for (const PluginStatus& status : registry_.Plugins()) {
      if (status.registration->uri() == uri) return &status;
    }
    return nullptr;
  }

  std::vector<std::string> init_order_;
  std::vector<std::string> destroyed_;
  Registry registry_;  // declared last: destroyed first, while the logs above still exist
};

TEST_F(RegistryTest, RegisterRejectsIncompleteAndDuplicate) {
  EXPECT_EQ(registry_.Register(Registration{.type = "t", .id = "", .init = [](InitContext&) {
                                              return absl::StatusOr<Instance>(Instance());
                                            }})
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_.Register(Registration{.type = "t", .id = "x"}).code(),
            absl::StatusCode::kInvalidArgument);
  Add("t", "x");
  EXPECT_EQ(registry_.Register(Registration{.type = "t", .id = "x", .init = [](InitContext&) {
                                              return absl::StatusOr<Instance>(Instance());
                                            }})
                .code(),
            absl::StatusCode::kAlreadyExists);
  Add("t", "y");  // same type, other id: fine
  EXPECT_EQ(registry_.Registrations().size(), 2u);
}

TEST_F(RegistryTest, GraphFollowsRequirements) {
  Add("svc", "api", {"store", "events"});
  Add("store", "db", {"base"});
  Add("events", "exchange");
  Add("base", "fs");
  Add("introspect", "all", {kAllPlugins});
  Add("svc", "other");
  std::vector<std::string> order = GraphUris();
  ASSERT_EQ(order.size(), 6u);
  auto index = [&](const std::string& uri) {
    return std::find(order.begin(), order.end(), uri) - order.begin();
  };
  EXPECT_LT(index("base.fs"), index("store.db"));
  EXPECT_LT(index("store.db"), index("svc.api"));
  EXPECT_LT(index("events.exchange"), index("svc.api"));
  EXPECT_EQ(order.back(), "introspect.all");
  // Ready plugins keep registration order.
  EXPECT_THAT(order, ElementsAre("events.exchange", "base.fs", "store.db", "svc.api", "svc.other",
                                 "introspect.all"));
  // Disabled plugins are left out.
  EXPECT_THAT(GraphUris({"store.db", "svc.other"}),
              ElementsAre("events.exchange", "svc.api", "base.fs", "introspect.all"));
}

TEST_F(RegistryTest, InitRunsInDependencyOrderAndPassesInstances) {
  Add("svc", "api", {"store"});
  Add("store", "db");
  ASSERT_TRUE(registry_.InitAll(InitOptions{}).ok());
  EXPECT_THAT(init_order_, ElementsAre("store.db", "svc.api"));
  ASSERT_NE(StatusOf("svc.api"), nullptr);
  EXPECT_TRUE(StatusOf("svc.api")->init_error.ok());
  EXPECT_NE(registry_.Find("svc", "api"), nullptr);
  EXPECT_NE(registry_.Find("svc", ""), nullptr);
  EXPECT_EQ(registry_.Find("svc", "nope"), nullptr);
  EXPECT_EQ(registry_.FindAll("store").size(), 1u);
}

TEST_F(RegistryTest, CycleIsDetected) {
  Add("a", "one", {"b"});
  Add("b", "two", {"c"});
  Add("c", "three", {"a"});
  Add("d", "free");
  absl::StatusOr<std::vector<const Registration*>> graph = registry_.Graph();
  ASSERT_EQ(graph.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(graph.status().message(), HasSubstr("cycle"));
  EXPECT_THAT(graph.status().message(), HasSubstr("a.one"));
  EXPECT_THAT(graph.status().message(), HasSubstr("b.two"));
  EXPECT_THAT(graph.status().message(), HasSubstr("c.three"));
  EXPECT_THAT(graph.status().message(), ::testing::Not(HasSubstr("d.free")));
  EXPECT_EQ(registry_.InitAll(InitOptions{}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(init_order_, IsEmpty());
  // Disabling one member breaks the cycle.
  EXPECT_THAT(GraphUris({"b.two"}), ElementsAre("a.one", "c.three", "d.free"));
}

TEST_F(RegistryTest, SkipIsAnOutcomeNotAnError) {
  ASSERT_TRUE(registry_
                  .Register(Registration{.type = "snap",
                                         .id = "overlay",
                                         .init = [](InitContext&) -> absl::StatusOr<Instance> {
                                           return SkipPlugin("no overlay here");
                                         }})
                  .ok());
  Add("svc", "needs-snap", {"snap"});
  Add("svc", "free");
  ASSERT_TRUE(registry_.InitAll(InitOptions{}).ok());
  const PluginStatus* skipped = StatusOf("snap.overlay");
  ASSERT_NE(skipped, nullptr);
  EXPECT_TRUE(skipped->skipped);
  EXPECT_THAT(skipped->init_error.message(), HasSubstr("skip plugin"));
  EXPECT_THAT(skipped->init_error.message(), HasSubstr("no overlay here"));
  EXPECT_TRUE(IsSkipPlugin(skipped->init_error));
  EXPECT_FALSE(IsSkipPlugin(absl::FailedPreconditionError("skip plugin: but not really")));
  EXPECT_EQ(registry_.Find("snap", "overlay"), nullptr);
  // A dependent cannot get it and fails (not skipped); independents load.
  const PluginStatus* dependent = StatusOf("svc.needs-snap");
  ASSERT_NE(dependent, nullptr);
  EXPECT_FALSE(dependent->skipped);
  EXPECT_EQ(dependent->init_error.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(StatusOf("svc.free")->init_error.ok());
}

TEST_F(RegistryTest, FailureIsRecordedAndRequiredFailureIsFatal) {
  auto failing = [](InitContext&) -> absl::StatusOr<Instance> {
    return absl::UnavailableError("device missing");
  };
  ASSERT_TRUE(registry_.Register(Registration{.type = "dev", .id = "broken", .init = failing}).ok());
  Add("svc", "ok");
  // Not required: InitAll goes on.
  ASSERT_TRUE(registry_.InitAll(InitOptions{}).ok());
  EXPECT_EQ(StatusOf("dev.broken")->init_error.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(StatusOf("dev.broken")->skipped);
  EXPECT_TRUE(StatusOf("svc.ok")->init_error.ok());

  Registry required;
  ASSERT_TRUE(required.Register(Registration{.type = "dev", .id = "broken", .init = failing}).ok());
  InitOptions options;
  options.required = {"dev.broken"};
  absl::Status status = required.InitAll(options);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("dev.broken"));
  EXPECT_THAT(status.message(), HasSubstr("device missing"));

  Registry unknown;
  InitOptions unknown_options;
  unknown_options.required = {"no.such"};
  EXPECT_EQ(unknown.InitAll(unknown_options).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(RegistryTest, RequiredButDisabledIsFatal) {
  Add("svc", "api");
  InitOptions options;
  options.disabled = {"svc.api"};
  options.required = {"svc.api"};
  EXPECT_EQ(registry_.InitAll(options).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(init_order_, IsEmpty());
}

TEST_F(RegistryTest, DisabledPluginsAreNotLoaded) {
  Add("svc", "api");
  Add("svc", "off");
  InitOptions options;
  options.disabled = {"svc.off"};
  ASSERT_TRUE(registry_.InitAll(options).ok());
  EXPECT_THAT(init_order_, ElementsAre("svc.api"));
  EXPECT_EQ(StatusOf("svc.off"), nullptr);
  EXPECT_EQ(registry_.Plugins().size(), 1u);
}

TEST_F(RegistryTest, ShutdownIsReverseInitOrder) {
  Add("c", "top", {"b"});
  Add("b", "mid", {"a"});
  Add("a", "bottom");
  Add("z", "last", {kAllPlugins});
  ASSERT_TRUE(registry_.InitAll(InitOptions{}).ok());
  EXPECT_THAT(init_order_, ElementsAre("a.bottom", "b.mid", "c.top", "z.last"));
  registry_.Shutdown();
  EXPECT_THAT(destroyed_, ElementsAre("z.last", "c.top", "b.mid", "a.bottom"));
  EXPECT_EQ(registry_.Find("a", ""), nullptr);
  registry_.Shutdown();  // twice is harmless
  EXPECT_EQ(destroyed_.size(), 4u);
}

TEST_F(RegistryTest, DestructorShutsDownInReverse) {
  std::vector<std::string> destroyed;
  {
    Registry local;
    for (const char* type : {"a", "b", "c"}) {
      std::string t = type;
      ASSERT_TRUE(local
                      .Register(Registration{
                          .type = t,
                          .id = "x",
                          .requires_types = t == "a" ? std::vector<std::string>{}
                                                     : std::vector<std::string>{t == "b" ? "a" : "b"},
                          .init = [&destroyed, t](InitContext&) -> absl::StatusOr<Instance> {
                            return Instance::Of(std::make_unique<Probe>(t, &destroyed));
                          }})
                      .ok());
    }
    ASSERT_TRUE(local.InitAll(InitOptions{}).ok());
  }
  EXPECT_THAT(destroyed, ElementsAre("c", "b", "a"));
}

TEST_F(RegistryTest, GetChecksTheInstanceType) {
  Add("store", "db");
  ASSERT_TRUE(registry_
                  .Register(Registration{
                      .type = "svc",
                      .id = "wrong",
                      .requires_types = {"store"},
                      .init = [](InitContext& context) -> absl::StatusOr<Instance> {
                        absl::StatusOr<int*> wrong = context.Get<int>("store");
                        if (!wrong.ok()) return wrong.status();
                        return Instance::Of(std::make_unique<int>(1));
                      }})
                  .ok());
  ASSERT_TRUE(registry_.InitAll(InitOptions{}).ok());
  EXPECT_EQ(StatusOf("svc.wrong")->init_error.code(), absl::StatusCode::kInternal);
}

TEST_F(RegistryTest, ConfigIsDefaultsOverlaidWithUserSection) {
  std::string seen_root, seen_state, seen_mode;
  int64_t seen_size = 0;
  bool seen_flag = false;
  ASSERT_TRUE(registry_
                  .Register(Registration{
                      .type = "store",
                      .id = "db",
                      .default_config = "mode = \"fast\"\nsize = 10\nflag = false\n[nested]\nx = 1\n",
                      .init = [&](InitContext& context) -> absl::StatusOr<Instance> {
                        seen_root = context.root();
                        seen_state = context.state();
                        seen_mode = context.config()["mode"].value_or(std::string());
                        seen_size = context.config()["size"].value_or(int64_t{0});
                        seen_flag = context.config()["flag"].value_or(false);
                        EXPECT_EQ(context.config()["nested"]["x"].value_or(0), 1);
                        EXPECT_EQ(context.config()["nested"]["y"].value_or(0), 2);
                        context.meta().exports["k"] = "v";
                        context.meta().platforms = {"linux/amd64"};
                        return Instance::Of(std::make_unique<int>(0));
                      }})
                  .ok());
  InitOptions options;
  options.daemon.root = "/r";
  options.daemon.state = "/s";
  toml::parse_result user = toml::parse("size = 42\nflag = true\n[nested]\ny = 2\n");
  ASSERT_TRUE(user);
  options.plugin_configs["store.db"] = std::move(user).table();
  ASSERT_TRUE(registry_.InitAll(options).ok());
  EXPECT_EQ(seen_root, "/r/store.db");
  EXPECT_EQ(seen_state, "/s/store.db");
  EXPECT_EQ(seen_mode, "fast");
  EXPECT_EQ(seen_size, 42);
  EXPECT_TRUE(seen_flag);
  EXPECT_EQ(StatusOf("store.db")->meta.exports.at("k"), "v");
  EXPECT_THAT(StatusOf("store.db")->meta.platforms, ElementsAre("linux/amd64"));
}

TEST_F(RegistryTest, BrokenDefaultConfigFailsThatPlugin) {
  Add("bad", "cfg", {}, "this is = = not toml");
  Add("good", "one");
  ASSERT_TRUE(registry_.InitAll(InitOptions{}).ok());
  EXPECT_EQ(StatusOf("bad.cfg")->init_error.code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(StatusOf("good.one")->init_error.ok());
  EXPECT_THAT(init_order_, ElementsAre("good.one"));
}

TEST(MetadataPluginTest, LoadsThroughTheRegistryWithConfig) {
  absl::StatusOr<ScopedTempDir> dir = ScopedTempDir::Create("/tmp", "berth-reg-");
  ASSERT_TRUE(dir.ok());
  Registry registry;
  metadata::RegisterMetadataPlugin(registry);
  InitOptions options;
  options.daemon.root = dir->path();
  options.daemon.state = dir->path() + "/state";
  toml::parse_result user = toml::parse("sync_writes = false\n");
  options.plugin_configs["io.containerd.metadata.v1.rocksdb"] = std::move(user).table();
  options.required = {"io.containerd.metadata.v1.rocksdb"};
  ASSERT_TRUE(registry.InitAll(options).ok());
  const Instance* instance = registry.Find(kMetadataPlugin, "rocksdb");
  ASSERT_NE(instance, nullptr);
  metadata::Metadata* md = instance->As<metadata::Metadata>();
  ASSERT_NE(md, nullptr);
  EXPECT_EQ(registry.Plugins()[0].meta.exports.at("path"),
            dir->path() + "/io.containerd.metadata.v1.rocksdb/meta.db");
  metadata::Namespace ns;
  ns.set_name("n");
  EXPECT_TRUE(md->namespaces().Create(ns).ok());
  registry.Shutdown();  // closes the database before the directory goes
}

}  // namespace
}  // namespace berth::plugins
