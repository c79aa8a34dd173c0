// Registry authentication: htpasswd basic auth, bearer tokens from a token server (proxy.py),
// berthctl login/logout, and TLS with a test CA.

#include <fstream>

#include "nlohmann/json.hpp"
#include "tests/registry/registry_fixture.h"

namespace berth::testutil {
namespace {

using ::testing::HasSubstr;

class AuthTest : public RegistryTest {
 protected:
  nlohmann::json AuthFile() {
    std::ifstream in(auth_config_);
    return nlohmann::json::parse(in, nullptr, false);
  }
};

TEST_F(AuthTest, BasicAuthWithLoginAndLogout) {
  CommandResult htpasswd = Run({"htpasswd", "-Bbn", "alice", "s3cret"});
  ASSERT_TRUE(htpasswd.ok()) << htpasswd.Describe();
  std::ofstream(Temp("htpasswd")) << htpasswd.out;
  auto registry = LocalRegistry::Start(Temp("registry"), {.htpasswd_file = Temp("htpasswd")});
  ASSERT_TRUE(registry.ok()) << registry.status();
  registry_ = *std::move(registry);
  std::string host = registry_->host();
  PushFixture("busybox", host, "test/busybox:latest", {"--dest-creds", "alice:s3cret"});
  StartDaemon();
  std::string ref = host + "/test/busybox:latest";

  CommandResult result = Berthctl({"pull", "--plain-http", ref});
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.err, HasSubstr("requires authentication"));
  EXPECT_THAT(result.err, HasSubstr("realm \"berth-test-realm\""));

  result = Berthctl({"login", "--plain-http", "-u", "alice", "-p", "wrong", host});
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.err, HasSubstr("401 Unauthorized"));
  EXPECT_THAT(result.err, HasSubstr("credentials refused for user \"alice\""));
  EXPECT_TRUE(AuthFile().is_discarded()) << "a refused login stores nothing";

  result = Run({"sh", "-c", "echo s3cret | \"$0\" -a \"$1\" login --plain-http -u alice "
                            "--password-stdin \"$2\"",
                BuildPath("ctl/berthctl"),
                daemon_->address(), host});
  ASSERT_TRUE(result.ok()) << result.Describe();
  EXPECT_THAT(result.out, HasSubstr("Login Succeeded"));
  EXPECT_TRUE(AuthFile()["auths"].contains(host));

  result = Berthctl({"pull", "--plain-http", ref});
  ASSERT_TRUE(result.ok()) << result.Describe();
  result = Berthctl({"push", "--plain-http", ref, host + "/pushed/busybox:v1"});
  ASSERT_TRUE(result.ok()) << result.Describe();
  CommandResult inspect = Run({"skopeo", "inspect", "--tls-verify=false", "--creds",
                               "alice:s3cret", "docker://" + host + "/pushed/busybox:v1"});
  EXPECT_TRUE(inspect.ok()) << inspect.Describe();

  result = Berthctl({"logout", host});
  ASSERT_TRUE(result.ok()) << result.Describe();
  EXPECT_FALSE(AuthFile()["auths"].contains(host));
  result = Berthctl({"pull", "--plain-http", ref}, "other");
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.err, HasSubstr("requires authentication"));
  result = Berthctl({"logout", host});
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.err, HasSubstr("not logged in"));
}

TEST_F(AuthTest, BearerTokenFromTheChallengeRealm) {
  auto registry = LocalRegistry::Start(Temp("registry"), {});
  ASSERT_TRUE(registry.ok()) << registry.status();
  registry_ = *std::move(registry);
  PushFixture("busybox", registry_->host(), "test/busybox:latest");
  auto proxy = Proxy::Start("token", registry_->port(), {"--user", "bob", "--password", "hunter2"});
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  StartDaemon();
  std::string host = (*proxy)->host();
  std::string ref = host + "/test/busybox:latest";
  std::string realm = "http://" + host + "/token";

  CommandResult result = Berthctl({"pull", "--plain-http", ref});
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.err, HasSubstr("401 Unauthorized from token server (realm \"" + realm));
  result = Berthctl({"login", "--plain-http", "-u", "bob", "-p", "nope", host});
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.err, HasSubstr("credentials refused for user \"bob\""));
  EXPECT_THAT(result.err, HasSubstr(realm));

  result = Berthctl({"login", "--plain-http", "-u", "bob", "-p", "hunter2", host});
  ASSERT_TRUE(result.ok()) << result.Describe();
  size_t before = (*proxy)->Log().size();
  result = Berthctl({"pull", "--plain-http", ref});
  ASSERT_TRUE(result.ok()) << result.Describe();
  std::string log = (*proxy)->Log().substr(before);
  EXPECT_THAT(log, HasSubstr("REQ GET /token?service=test-registry&scope=repository%3Atest%2Fbusybox%3Apull"));
  // One token per scope: the blobs reuse the manifest's token (no token request per blob).
  size_t tokens = 0;
  for (size_t pos = 0; (pos = log.find("REQ GET /token", pos)) != std::string::npos; ++pos) {
    ++tokens;
  }
  EXPECT_EQ(tokens, 1u) << log;
}

TEST_F(AuthTest, TlsRegistryWithTestCa) {
  std::string dir = Temp("");
  CommandResult made = Run(
      {"sh", "-c",
       "set -e; cd \"$0\"; "
       "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
       "  -subj /CN=berth-test-ca 2>/dev/null; "
       "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
       "  -subj /CN=127.0.0.1 2>/dev/null; "
       "printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf; "
       "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
       "  -out server.pem -days 2 -extfile ext.cnf 2>/dev/null",
       dir});
  ASSERT_TRUE(made.ok()) << made.Describe();
  auto registry = LocalRegistry::Start(
      Temp("registry"), {.tls_cert = Temp("server.pem"), .tls_key = Temp("server.key")});
  ASSERT_TRUE(registry.ok()) << registry.status();
  registry_ = *std::move(registry);
  std::string host = registry_->host();
  PushFixture("busybox", host, "test/busybox:latest");
  std::string ref = host + "/test/busybox:latest";

  StartDaemon();  // no CA configured: the certificate is refused
  CommandResult result = Berthctl({"pull", ref});
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.err, HasSubstr("https://" + host));
  EXPECT_THAT(result.err, HasSubstr("SSL"));
  result = Berthctl({"pull", "--skip-verify", ref}, "skip");
  EXPECT_TRUE(result.ok()) << result.Describe();

  daemon_.reset();
  StartDaemon(absl::StrCat("version = 2\n[plugins.\"io.containerd.grpc.v1.transfer\".registry.",
                           "configs.\"", host, "\".tls]\nca_file = \"", Temp("ca.pem"), "\"\n"));
  result = Berthctl({"pull", ref});
  ASSERT_TRUE(result.ok()) << result.Describe();
  EXPECT_THAT(Ctr({"images", "ls", "-q"}).out, HasSubstr(ref));
}

}  // namespace
}  // namespace berth::testutil
