// Unit tests: config.json parsing and validation.

#include "runtime/oci/spec.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/oci/container.h"
#include "runtime/oci/linux/namespaces.h"

namespace berth::oci {
namespace {

nlohmann::json DefaultConfig() { return nlohmann::json::parse(DefaultSpecJson(false)); }

absl::StatusOr<Spec> Parse(const nlohmann::json& j) { return ParseSpec(j.dump()); }

TEST(SpecTest, ParsesDefaultSpec) {
  absl::StatusOr<Spec> spec = ParseSpec(DefaultSpecJson(false));
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_TRUE(spec->process.has_value());
  EXPECT_EQ(spec->process->args, std::vector<std::string>{"sh"});
  EXPECT_TRUE(spec->process->terminal);
  EXPECT_TRUE(spec->process->no_new_privileges);
  ASSERT_TRUE(spec->process->capabilities.has_value());
  EXPECT_EQ(spec->process->capabilities->bounding.size(), 3u);
  ASSERT_EQ(spec->process->rlimits.size(), 1u);
  EXPECT_EQ(spec->process->rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(spec->process->rlimits[0].hard, 1024u);
  EXPECT_EQ(spec->root.path, "rootfs");
  EXPECT_EQ(spec->hostname, "berth");
  EXPECT_EQ(spec->mounts.size(), 7u);
  EXPECT_NE(spec->linux.FindNamespace(CLONE_NEWPID), nullptr);
  EXPECT_EQ(spec->linux.FindNamespace(CLONE_NEWUSER), nullptr);
  EXPECT_EQ(spec->linux.masked_paths.size(), 10u);
  ASSERT_TRUE(spec->linux.resources.has_value());
  ASSERT_EQ(spec->linux.resources->devices.size(), 1u);
  EXPECT_FALSE(spec->linux.resources->devices[0].allow);
  EXPECT_TRUE(ValidateSpec(*spec).ok());
}

TEST(SpecTest, RejectsMalformedJson) {
  absl::StatusOr<Spec> spec = ParseSpec("{\"ociVersion\": ");
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseSpec("[1,2]").ok());
}

TEST(SpecTest, RejectsWrongTypesNamingTheField) {
  nlohmann::json j = DefaultConfig();
  j["process"]["args"] = "sh";
  absl::StatusOr<Spec> spec = Parse(j);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(spec.status().message().find("process.args"), std::string::npos) << spec.status();

  j = DefaultConfig();
  j["process"]["user"]["uid"] = -1;
  spec = Parse(j);
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("process.user.uid"), std::string::npos);

  j = DefaultConfig();
  j["mounts"][0]["destination"] = "relative";
  spec = Parse(j);
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("mounts[0].destination"), std::string::npos);
}

TEST(SpecTest, RejectsEmptyArgsAndRelativeCwd) {
  nlohmann::json j = DefaultConfig();
  j["process"]["args"] = nlohmann::json::array();
  EXPECT_FALSE(Parse(j).ok());
  j = DefaultConfig();
  j["process"]["cwd"] = "tmp";
  EXPECT_FALSE(Parse(j).ok());
}

TEST(SpecTest, RejectsUnknownNames) {
  nlohmann::json j = DefaultConfig();
  j["process"]["rlimits"][0]["type"] = "RLIMIT_BOGUS";
  EXPECT_FALSE(Parse(j).ok());
  j = DefaultConfig();
  j["process"]["capabilities"]["bounding"].push_back("CAP_BOGUS");
  EXPECT_FALSE(Parse(j).ok());
  j = DefaultConfig();
  j["linux"]["namespaces"].push_back({{"type", "bogus"}});
  EXPECT_FALSE(Parse(j).ok());
  j = DefaultConfig();
  j["linux"]["namespaces"].push_back({{"type", "pid"}});
  absl::StatusOr<Spec> spec = Parse(j);
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("duplicate"), std::string::npos);
}

TEST(SpecTest, ValidatesNamespaces) {
  nlohmann::json j = DefaultConfig();
  j["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}};
  absl::StatusOr<Spec> spec = Parse(j);
  ASSERT_TRUE(spec.ok());
  EXPECT_FALSE(ValidateSpec(*spec).ok());  // Mappings without a user namespace.

  j = DefaultConfig();
  j["linux"]["namespaces"].push_back({{"type", "user"}});
  spec = Parse(j);
  ASSERT_TRUE(spec.ok());
  EXPECT_FALSE(ValidateSpec(*spec).ok());  // A new user namespace without mappings.

  j = DefaultConfig();
  j["linux"]["namespaces"] = {{{"type", "mount"}}, {{"type", "pid"}}};
  spec = Parse(j);
  ASSERT_TRUE(spec.ok());
  absl::Status s = ValidateSpec(*spec);
  EXPECT_FALSE(s.ok());  // Hostname without a UTS namespace.
  EXPECT_NE(s.message().find("UTS"), std::string::npos);

  j["hostname"] = "";
  EXPECT_TRUE(ValidateSpec(*Parse(j)).ok());
  j["linux"]["namespaces"] = {{{"type", "pid"}}};
  EXPECT_FALSE(ValidateSpec(*Parse(j)).ok());  // No mount namespace.
}

TEST(SpecTest, ValidateNeedsProcessAndRoot) {
  nlohmann::json j = DefaultConfig();
  j.erase("process");
  absl::StatusOr<Spec> spec = Parse(j);
  ASSERT_TRUE(spec.ok());
  EXPECT_FALSE(ValidateSpec(*spec).ok());
  j = DefaultConfig();
  j["root"]["path"] = "";
  EXPECT_FALSE(ValidateSpec(*Parse(j)).ok());
}

TEST(SpecTest, MountOptions) {
  Mount m;
  m.type = "tmpfs";
  m.options = {"nosuid", "strictatime", "mode=755", "size=65536k", "ro", "rprivate"};
  ParseMountOptions(m);
  EXPECT_EQ(m.flags, static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME | MS_RDONLY));
  EXPECT_EQ(m.propagation, static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  EXPECT_EQ(m.data, "mode=755,size=65536k");
  EXPECT_FALSE(m.IsBind());

  Mount b;
  b.options = {"rbind", "ro", "rw"};
  ParseMountOptions(b);
  EXPECT_TRUE(b.IsBind());
  EXPECT_EQ(b.flags, static_cast<unsigned long>(MS_BIND | MS_REC));
}

TEST(SpecTest, ParsesResourcesAndSeccomp) {
  nlohmann::json j = DefaultConfig();
  j["linux"]["resources"] = {
      {"memory", {{"limit", 1048576}, {"swap", -1}}},
      {"cpu", {{"shares", 512}, {"quota", 50000}, {"period", 100000}, {"cpus", "0"}}},
      {"pids", {{"limit", 10}}},
      {"unified", {{"memory.high", "max"}}}};
  j["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"architectures", {"SCMP_ARCH_X86_64"}},
      {"syscalls",
       {{{"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 38},
         {"args", {{{"index", 1}, {"value", 0}, {"op", "SCMP_CMP_GE"}}}}}}}};
  absl::StatusOr<Spec> spec = Parse(j);
  ASSERT_TRUE(spec.ok()) << spec.status();
  const Resources& r = *spec->linux.resources;
  EXPECT_EQ(*r.memory->limit, 1048576);
  EXPECT_EQ(*r.memory->swap, -1);
  EXPECT_EQ(*r.cpu->shares, 512u);
  EXPECT_EQ(r.cpu->cpus, "0");
  EXPECT_EQ(*r.pids_limit, 10);
  EXPECT_EQ(r.unified.at("memory.high"), "max");
  const Seccomp& s = *spec->linux.seccomp;
  EXPECT_EQ(s.default_action, "SCMP_ACT_ALLOW");
  ASSERT_EQ(s.syscalls.size(), 1u);
  EXPECT_EQ(*s.syscalls[0].errno_ret, 38u);
  EXPECT_EQ(s.syscalls[0].args[0].index, 1u);

  j["linux"]["seccomp"]["syscalls"][0]["args"][0]["index"] = 9;
  EXPECT_FALSE(Parse(j).ok());
}

TEST(SpecTest, ParsesProcessAlone) {
  absl::StatusOr<Process> p = ParseProcess(
      R"({"args":["ls","-l"],"cwd":"/tmp","env":["A=1"],"user":{"uid":5,"gid":6,"additionalGids":[7]},"terminal":true})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->args.size(), 2u);
  EXPECT_EQ(p->user.uid, 5u);
  EXPECT_EQ(p->user.additional_gids, std::vector<uint32_t>{7});
  EXPECT_TRUE(p->terminal);
  EXPECT_FALSE(ParseProcess(R"({"cwd":"/"})").ok());
}

TEST(SpecTest, ParsesResourcesJsonForUpdate) {
  absl::StatusOr<Resources> r = ParseResourcesJson(R"({"memory":{"limit":2097152},"pids":{"limit":5}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r->memory->limit, 2097152);
  EXPECT_EQ(*r->pids_limit, 5);
  EXPECT_FALSE(ParseResourcesJson(R"({"memory":{"limit":"big"}})").ok());
}

TEST(SpecTest, HooksNeedAbsolutePaths) {
  nlohmann::json j = DefaultConfig();
  j["hooks"] = {{"prestart", {{{"path", "hook.sh"}}}}};
  EXPECT_FALSE(Parse(j).ok());
  j["hooks"] = {{"poststop", {{{"path", "/bin/true"}, {"timeout", 5}}}}};
  absl::StatusOr<Spec> spec = Parse(j);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->hooks.poststop.size(), 1u);
  EXPECT_EQ(*spec->hooks.poststop[0].timeout, 5);
}

TEST(SpecTest, RootlessDefaultSpecHasUserNamespace) {
  absl::StatusOr<Spec> spec = ParseSpec(DefaultSpecJson(true));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_NE(spec->linux.FindNamespace(CLONE_NEWUSER), nullptr);
  EXPECT_EQ(spec->linux.uid_mappings.size(), 1u);
  EXPECT_TRUE(ValidateSpec(*spec).ok());
}

}  // namespace
TEST(SpecTest, MayHaveHookIsFalseOnlyWithoutTheName) {
  EXPECT_FALSE(MayHaveHook(R"({"process":{"args":["true"]},"hooks":{"prestart":[]}})",
                           "poststart"));
  EXPECT_TRUE(MayHaveHook(R"({"hooks":{"poststart":[{"path":"/bin/true"}]}})", "poststart"));
  // The same key with an escaped letter: parsing would find it, so the cheap check must too.
  absl::StatusOr<Spec> escaped = ParseSpec(
      R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["true"],"cwd":"/"},)"
      R"("hooks":{"\u0070oststart":[{"path":"/bin/true"}]}})");
  ASSERT_TRUE(escaped.ok()) << escaped.status();
  ASSERT_EQ(escaped->hooks.poststart.size(), 1u);
  EXPECT_TRUE(MayHaveHook(R"({"hooks":{"\u0070oststart":[{"path":"/bin/true"}]}})",
                          "poststart"));
}

// A network namespace made ahead (berth-shim's spare) stands in only for a new one, and only
// without a user namespace, which would own a new one; joining a path stays a join.
TEST(NamespacesTest, ANetworkNamespaceMadeAheadOnlyReplacesANewOneWithoutAUserNamespace) {
  Linux l;
  EXPECT_FALSE(MayUseReadyNetworkNamespace(l)) << "host network";
  l.namespaces = {{CLONE_NEWNS, ""}, {CLONE_NEWPID, ""}, {CLONE_NEWNET, ""}};
  EXPECT_TRUE(MayUseReadyNetworkNamespace(l));
  l.namespaces.push_back({CLONE_NEWUSER, ""});
  EXPECT_FALSE(MayUseReadyNetworkNamespace(l)) << "new user namespace";
  l.namespaces.back().path = "/proc/1/ns/user";
  EXPECT_FALSE(MayUseReadyNetworkNamespace(l)) << "joined user namespace";
  l.namespaces = {{CLONE_NEWNS, ""}, {CLONE_NEWNET, "/var/run/netns/x"}};
  EXPECT_FALSE(MayUseReadyNetworkNamespace(l)) << "joined network namespace";
}

}  // namespace berth::oci
