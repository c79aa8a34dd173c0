// Tests of the daemon config (plugins/config.h): defaults, overrides, wrong types, loading
// files, and DefaultConfigText round-tripping through ParseConfig.

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugins/base/file_util.h"
#include "plugins/base/temp_dir.h"
#include "plugins/config.h"
#include "plugins/registry.h"
#include "services/metadata/metadata.h"

namespace berth::plugins {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

void ExpectDefaults(const Config& config) {
  EXPECT_EQ(config.root, "/var/lib/berth");
  EXPECT_EQ(config.state, "/run/berth");
  EXPECT_EQ(config.grpc_address, "/run/berth/berthd.sock");
  EXPECT_EQ(config.grpc_uid, 0);
  EXPECT_EQ(config.grpc_gid, 0);
  EXPECT_EQ(config.max_recv_message_size, 16 << 20);
  EXPECT_EQ(config.max_send_message_size, 16 << 20);
  EXPECT_EQ(config.ttrpc_address, "");
  EXPECT_EQ(config.EffectiveTtrpcAddress(), "/run/berth/berthd.sock.ttrpc");
  EXPECT_EQ(config.log_level, "info");
  EXPECT_THAT(config.disabled_plugins, IsEmpty());
  EXPECT_THAT(config.required_plugins, IsEmpty());
  EXPECT_THAT(config.proxy_plugins, IsEmpty());
}

TEST(ConfigTest, EmptyTextGivesDefaults) {
  absl::StatusOr<Config> config = ParseConfig("", "empty.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  ExpectDefaults(*config);
  EXPECT_THAT(config->plugin_configs, IsEmpty());
  ExpectDefaults(Config());
}

TEST(ConfigTest, OverridesEveryKey) {
  absl::StatusOr<Config> config = ParseConfig(R"(
version = 2
root = "/data/berth"
state = "/tmp/berth-state"
disabled_plugins = ["io.containerd.snapshotter.v1.native"]
required_plugins = ["io.containerd.metadata.v1.rocksdb", "io.containerd.grpc.v1.containers"]
[grpc]
address = "/tmp/b.sock"
uid = 1000
gid = 1001
max_recv_message_size = 1024
max_send_message_size = 2048
[ttrpc]
address = "/tmp/b.ttrpc"
[debug]
level = "debug"
[plugins."io.containerd.metadata.v1.rocksdb"]
sync_writes = false
[proxy_plugins.stargz]
type = "snapshot"
address = "/run/stargz.sock"
)",
                                              "test.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->root, "/data/berth");
  EXPECT_EQ(config->state, "/tmp/berth-state");
  EXPECT_THAT(config->disabled_plugins, ElementsAre("io.containerd.snapshotter.v1.native"));
  EXPECT_THAT(config->required_plugins,
              ElementsAre("io.containerd.metadata.v1.rocksdb", "io.containerd.grpc.v1.containers"));
  EXPECT_EQ(config->grpc_address, "/tmp/b.sock");
  EXPECT_EQ(config->grpc_uid, 1000);
  EXPECT_EQ(config->grpc_gid, 1001);
  EXPECT_EQ(config->max_recv_message_size, 1024);
  EXPECT_EQ(config->max_send_message_size, 2048);
  EXPECT_EQ(config->EffectiveTtrpcAddress(), "/tmp/b.ttrpc");
  EXPECT_EQ(config->log_level, "debug");
  ASSERT_TRUE(config->plugin_configs.contains("io.containerd.metadata.v1.rocksdb"));
  EXPECT_EQ(config->plugin_configs.at("io.containerd.metadata.v1.rocksdb")["sync_writes"].value_or(true),
            false);
  ASSERT_TRUE(config->proxy_plugins.contains("stargz"));
  EXPECT_EQ(config->proxy_plugins.at("stargz").type, "snapshot");
  EXPECT_EQ(config->proxy_plugins.at("stargz").address, "/run/stargz.sock");
}

TEST(ConfigTest, PartialOverrideKeepsOtherDefaults) {
  absl::StatusOr<Config> config = ParseConfig("[grpc]\naddress = \"/tmp/x.sock\"\n", "p.toml");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->grpc_address, "/tmp/x.sock");
  EXPECT_EQ(config->EffectiveTtrpcAddress(), "/tmp/x.sock.ttrpc");
  EXPECT_EQ(config->max_recv_message_size, 16 << 20);
  EXPECT_EQ(config->root, "/var/lib/berth");
}

TEST(ConfigTest, WrongTypesNameTheKey) {
  struct Case {
    const char* text;
    const char* key;
  };
  for (const Case& c : {Case{"root = 5", "root"}, Case{"state = true", "state"},
                        Case{"[grpc]\nuid = \"root\"", "uid"},
                        Case{"[grpc]\naddress = 1", "address"},
                        Case{"[grpc]\nmax_recv_message_size = \"big\"", "max_recv_message_size"},
                        Case{"[debug]\nlevel = 3", "level"},
                        Case{"disabled_plugins = \"x\"", "disabled_plugins"},
                        Case{"required_plugins = [1, 2]", "required_plugins"},
                        Case{"[ttrpc]\naddress = []", "address"},
                        Case{"version = \"2\"", "version"},
                        Case{"[plugins]\nx = 5", "plugins.x"},
                        Case{"proxy_plugins = { a = 1 }", "proxy_plugins.a"}}) {
    absl::StatusOr<Config> config = ParseConfig(c.text, "bad.toml");
    ASSERT_FALSE(config.ok()) << c.text;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(config.status().message(), HasSubstr(c.key)) << c.text;
    EXPECT_THAT(config.status().message(), HasSubstr("bad.toml")) << c.text;
  }
}

TEST(ConfigTest, RejectsBadVersionSyntaxAndIncompleteProxy) {
  absl::StatusOr<Config> v1 = ParseConfig("version = 1", "v.toml");
  EXPECT_EQ(v1.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(v1.status().message(), HasSubstr("version"));
  absl::StatusOr<Config> syntax = ParseConfig("root = \"unterminated\n", "s.toml");
  EXPECT_EQ(syntax.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(syntax.status().message(), HasSubstr("s.toml"));
  absl::StatusOr<Config> proxy = ParseConfig("[proxy_plugins.x]\ntype = \"snapshot\"\n", "p.toml");
  EXPECT_EQ(proxy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(proxy.status().message(), HasSubstr("proxy_plugins.x"));
  // Unknown keys are only warned about.
  EXPECT_TRUE(ParseConfig("unknown_key = 1\n", "u.toml").ok());
}

TEST(ConfigTest, LoadConfigFromFiles) {
  absl::StatusOr<ScopedTempDir> dir = ScopedTempDir::Create("/tmp", "berth-cfg-");
  ASSERT_TRUE(dir.ok());
  std::string missing = dir->path() + "/missing.toml";
  absl::StatusOr<Config> defaults = LoadConfig(missing, /*must_exist=*/false);
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  ExpectDefaults(*defaults);
  EXPECT_FALSE(LoadConfig(missing, /*must_exist=*/true).ok());

  std::string path = dir->path() + "/config.toml";
  ASSERT_TRUE(WriteFileAtomic(path, "root = \"/elsewhere\"\n").ok());
  absl::StatusOr<Config> loaded = LoadConfig(path, true);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->root, "/elsewhere");
  ASSERT_TRUE(WriteFileAtomic(path, "root = 1\n").ok());
  absl::StatusOr<Config> bad = LoadConfig(path, false);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr(path));
}

TEST(ConfigTest, DefaultConfigTextRoundTrips) {
  Registry registry;
  metadata::RegisterMetadataPlugin(registry);
  ASSERT_TRUE(registry
                  .Register(Registration{
                      .type = "io.berth.test.v1",
                      .id = "sample",
                      .default_config = "name = \"x\"\ncount = 3\nlist = [\"a\", \"b\"]\n[sub]\nflag = true\n",
                      .init = [](InitContext&) -> absl::StatusOr<Instance> {
                        return Instance::Of(std::make_unique<int>(0));
                      }})
                  .ok());
  ASSERT_TRUE(registry
                  .Register(Registration{.type = "io.berth.test.v1",
                                         .id = "no-config",
                                         .init = [](InitContext&) -> absl::StatusOr<Instance> {
                                           return Instance::Of(std::make_unique<int>(0));
                                         }})
                  .ok());
  std::string text = DefaultConfigText(registry);
  absl::StatusOr<Config> parsed = ParseConfig(text, "default.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << text;
  ExpectDefaults(*parsed);
  ASSERT_EQ(parsed->plugin_configs.size(), 3u) << text;
  const toml::table& metadata = parsed->plugin_configs.at("io.containerd.metadata.v1.rocksdb");
  EXPECT_EQ(metadata["sync_writes"].value_or(false), true);
  const toml::table& sample = parsed->plugin_configs.at("io.berth.test.v1.sample");
  EXPECT_EQ(sample["name"].value_or(std::string()), "x");
  EXPECT_EQ(sample["count"].value_or(0), 3);
  EXPECT_EQ(sample["list"][1].value_or(std::string()), "b");
  EXPECT_EQ(sample["sub"]["flag"].value_or(false), true);
  EXPECT_TRUE(parsed->plugin_configs.at("io.berth.test.v1.no-config").empty());
  // Each plugin section equals that plugin's own defaults.
  for (const Registration& r : registry.Registrations()) {
    toml::parse_result own = toml::parse(r.default_config);
    ASSERT_TRUE(own) << r.uri();
    EXPECT_EQ(parsed->plugin_configs.at(r.uri()), own.table()) << r.uri();
  }
}

}  // namespace
}  // namespace berth::plugins
