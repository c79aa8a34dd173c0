// Unit tests of berth::distribution's parsing: references, WWW-Authenticate challenges,
// Docker config.json credentials, and the registry config (mirrors, TLS, plain HTTP).

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/distribution/auth.h"
#include "services/distribution/hosts.h"
#include "services/distribution/reference.h"

namespace berth::distribution {
namespace {

using ::testing::HasSubstr;

TEST(ReferenceTest, SplitsNormalisedReferences) {
  auto ref = ParseNormalizedReference("127.0.0.1:5000/a/b:v1");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->domain, "127.0.0.1:5000");
  EXPECT_EQ(ref->path, "a/b");
  EXPECT_EQ(ref->tag, "v1");
  EXPECT_EQ(ref->Object(), "v1");
  std::string digest = "sha256:" + std::string(64, 'a');
  ref = ParseNormalizedReference("docker.io/library/busybox@" + digest);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->tag, "");
  EXPECT_EQ(ref->Object(), digest);
  EXPECT_EQ(ref->String(), "docker.io/library/busybox@" + digest);
  EXPECT_EQ(RegistryHost("docker.io"), "registry-1.docker.io");
}

TEST(ReferenceTest, RefusesMalformedReferences) {
  for (const char* bad : {"busybox", "docker.io/Busybox:1", "docker.io/a//b:1",
                          "docker.io/a:bad tag", "docker.io/a@sha256:xyz", "/a/b:1"}) {
    auto ref = ParseNormalizedReference(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(ref.status())) << bad;
    EXPECT_THAT(ref.status().message(), HasSubstr("invalid reference")) << bad;
  }
}

TEST(ReferenceTest, LoopbackHosts) {
  EXPECT_TRUE(IsLoopbackHost("localhost:5000"));
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1:5000"));
  EXPECT_TRUE(IsLoopbackHost("[::1]:5000"));
  EXPECT_FALSE(IsLoopbackHost("localhost.example.com"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1:5000"));
}

TEST(ChallengeTest, ParsesBearerAndBasic) {
  auto challenges = ParseChallenges(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",)"
      R"(scope="repository:library/busybox:pull", Basic realm="r, with comma")");
  ASSERT_EQ(challenges.size(), 2u);
  EXPECT_EQ(challenges[0].scheme, "bearer");
  EXPECT_EQ(challenges[0].params["realm"], "https://auth.docker.io/token");
  EXPECT_EQ(challenges[0].params["service"], "registry.docker.io");
  EXPECT_EQ(challenges[0].params["scope"], "repository:library/busybox:pull");
  EXPECT_EQ(challenges[1].scheme, "basic");
  EXPECT_EQ(challenges[1].params["realm"], "r, with comma");
  EXPECT_TRUE(ParseChallenges("").empty());
}

TEST(ChallengeTest, BasicWithoutCredentialsNamesTheRealm) {
  Authorizer auth([](const std::string&) { return std::nullopt; });
  absl::Status status = auth.Answer("h:1", "repository:x:pull", R"(Basic realm="secret place")", {});
  EXPECT_TRUE(absl::IsUnauthenticated(status));
  EXPECT_THAT(status.message(), HasSubstr("realm \"secret place\""));
  EXPECT_FALSE(auth.Header("h:1", "repository:x:pull").has_value());
}

TEST(ChallengeTest, BasicCredentialsAreCachedPerHostAndRefusedOnce) {
  Authorizer auth([](const std::string&) { return Credentials{"u", "p"}; });
  ASSERT_TRUE(auth.Answer("h:1", "s", R"(Basic realm="r")", {}).ok());
  EXPECT_EQ(auth.Header("h:1", "other-scope"),
            "Authorization: Basic " + absl::Base64Escape("u:p"));
  absl::Status again = auth.Answer("h:1", "s", R"(Basic realm="r")", {});
  EXPECT_THAT(again.message(), HasSubstr("credentials refused for user \"u\""));
}

TEST(DockerConfigTest, ReadsAuths) {
  auto creds = ParseDockerConfig(R"({"auths": {
      "https://index.docker.io/v1/": {"auth": ")" + absl::Base64Escape("me:pw") + R"("},
      "127.0.0.1:5000": {"username": "u", "password": "p:with:colons"},
      "empty.example": {}}})");
  ASSERT_TRUE(creds.ok()) << creds.status();
  EXPECT_EQ((*creds)["docker.io"].username, "me");
  EXPECT_EQ((*creds)["docker.io"].password, "pw");
  EXPECT_EQ((*creds)["127.0.0.1:5000"].password, "p:with:colons");
  EXPECT_FALSE(creds->contains("empty.example"));
  EXPECT_TRUE(ParseDockerConfig("")->empty());
  EXPECT_TRUE(absl::IsInvalidArgument(ParseDockerConfig("[1]").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      ParseDockerConfig(R"({"auths": {"h": {"auth": "!!notbase64"}}})").status()));
}

toml::table Parse(const std::string& text) {
  toml::parse_result result = toml::parse(text);
  EXPECT_TRUE(result.succeeded());
  return result.succeeded() ? std::move(result).table() : toml::table{};
}

TEST(RegistryConfigTest, MirrorsComeBeforeTheOrigin) {
  auto config = RegistryConfigFromToml(Parse(R"(
[registry.mirrors."docker.io"]
endpoints = ["http://127.0.0.1:5001", "https://mirror.example/"]
[registry.configs."mirror.example".tls]
ca_file = "/ca.pem"
[registry.configs."reg.example:5000"]
plain_http = true
auth = { username = "u", password = "p" }
)"));
  ASSERT_TRUE(config.ok()) << config.status();
  auto endpoints = config->Endpoints("docker.io", false);
  ASSERT_TRUE(endpoints.ok()) << endpoints.status();
  ASSERT_EQ(endpoints->size(), 3u);
  EXPECT_EQ((*endpoints)[0].base_url, "http://127.0.0.1:5001");
  EXPECT_TRUE((*endpoints)[0].mirror);
  EXPECT_EQ((*endpoints)[1].base_url, "https://mirror.example");
  EXPECT_EQ((*endpoints)[1].tls.ca_file, "/ca.pem");
  EXPECT_EQ((*endpoints)[2].base_url, "https://registry-1.docker.io");
  EXPECT_FALSE((*endpoints)[2].mirror);

  endpoints = config->Endpoints("reg.example:5000", false);
  ASSERT_TRUE(endpoints.ok());
  EXPECT_EQ(endpoints->back().base_url, "http://reg.example:5000");
  EXPECT_EQ(config->Find("reg.example:5000")->auth->password, "p");
}

TEST(RegistryConfigTest, PlainHttpOnlyForLoopbackOrConfigured) {
  RegistryConfig config;
  auto endpoints = config.Endpoints("127.0.0.1:5000", true);
  ASSERT_TRUE(endpoints.ok());
  EXPECT_EQ(endpoints->back().base_url, "http://127.0.0.1:5000");
  EXPECT_EQ(config.Endpoints("127.0.0.1:5000", false)->back().base_url, "https://127.0.0.1:5000");
  auto refused = config.Endpoints("reg.example", true);
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status()));
  EXPECT_THAT(refused.status().message(), HasSubstr("reg.example"));
}

TEST(RegistryConfigTest, RefusesBadConfig) {
  EXPECT_TRUE(absl::IsInvalidArgument(
      RegistryConfigFromToml(Parse("[registry.mirrors.\"docker.io\"]\nx = 1\n")).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      RegistryConfigFromToml(Parse("[registry.mirrors.\"docker.io\"]\nendpoints = [1]\n")).status()));
  auto config = RegistryConfigFromToml(
      Parse("[registry.mirrors.\"docker.io\"]\nendpoints = [\"ftp://x\"]\n"));
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(config->Endpoints("docker.io", false).status()));
}

}  // namespace
}  // namespace berth::distribution
