#include "tests/registry/registry_fixture.h"

#include <arpa/inet.h>

#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"

namespace berth::testutil {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

bool WaitForPort(int port, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

absl::StatusOr<std::unique_ptr<LocalRegistry>> LocalRegistry::Start(
    const std::string& dir, const RegistryOptions& options) {
  auto registry = std::make_unique<LocalRegistry>();
  registry->port_ = FreePort();
  std::filesystem::create_directories(dir + "/data");
  std::ofstream config(dir + "/config.yml");
  config << "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: "
         << dir << "/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:"
         << registry->port_ << "\n";
  if (!options.tls_cert.empty()) {
    config << "  tls:\n    certificate: " << options.tls_cert << "\n    key: " << options.tls_key
           << "\n";
  }
  if (!options.htpasswd_file.empty()) {
    config << "auth:\n  htpasswd:\n    realm: berth-test-realm\n    path: "
           << options.htpasswd_file << "\n";
  }
  config.close();
  auto process = BackgroundProcess::Start(
      {"/usr/bin/docker-registry", "serve", dir + "/config.yml"});
  if (!process.ok()) return process.status();
  registry->process_ = *std::move(process);
  if (!WaitForPort(registry->port_, std::chrono::seconds(20))) {
    return absl::UnavailableError(absl::StrCat("docker-registry did not listen: ",
                                               registry->process_->Stderr()));
  }
  return registry;
}

absl::StatusOr<std::unique_ptr<Proxy>> Proxy::Start(const std::string& mode, int upstream,
                                                    const std::vector<std::string>& extra) {
  auto proxy = std::make_unique<Proxy>();
  std::vector<std::string> argv = {"python3", BERTH_REGISTRY_PROXY, "--mode", mode, "--upstream",
                                   std::to_string(upstream)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto process = BackgroundProcess::Start(argv);
  if (!process.ok()) return process.status();
  proxy->process_ = *std::move(process);
  if (!proxy->process_->WaitForStdout("listening ", std::chrono::seconds(20))) {
    return absl::UnavailableError(absl::StrCat("proxy did not start: ", proxy->process_->Stderr()));
  }
  std::string out = proxy->process_->Stdout();
  proxy->port_ = std::atoi(out.substr(out.find("listening ") + 10).c_str());
  return proxy;
}

void RegistryTest::SetUpTestSuite() {
  for (const char* tool : {"/usr/bin/umoci", "/usr/bin/skopeo", "/usr/bin/busybox",
                           "/usr/bin/docker-registry"}) {
    if (access(tool, X_OK) != 0) return;
  }
  char pattern[] = "/tmp/berth-regimg-XXXXXX";
  if (mkdtemp(pattern) == nullptr) return;
  RunOptions options;
  options.timeout = std::chrono::seconds(180);
  auto result = RunCommand({"sh", BERTH_IMAGES_SCRIPT, pattern}, options);
  if (!result.ok() || !result->ok()) {
    ADD_FAILURE() << (result.ok() ? result->Describe() : result.status().ToString());
    return;
  }
  result = RunCommand({"python3", BERTH_MAKE_MULTI, std::string(pattern) + "/oci"}, options);
  if (!result.ok() || !result->ok()) {
    ADD_FAILURE() << (result.ok() ? result->Describe() : result.status().ToString());
    return;
  }
  std::vector<std::string> digests =
      absl::StrSplit(absl::StripAsciiWhitespace(result->out), ' ');
  multi_index_ = digests.at(0);
  multi_arm64_ = digests.at(1);
  busybox_manifest_ = digests.at(2);
  images_dir_ = new std::string(pattern);
}

void RegistryTest::TearDownTestSuite() {
  if (images_dir_ != nullptr) std::filesystem::remove_all(*images_dir_);
  delete images_dir_;
  images_dir_ = nullptr;
}

void RegistryTest::SetUp() {
  if (images_dir_ == nullptr) GTEST_SKIP() << "umoci/skopeo/busybox/docker-registry missing";
  char pattern[] = "/tmp/berth-reg-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  work_dir_ = pattern;
  auth_config_ = Temp("auth.json");
}

void RegistryTest::TearDown() {
  daemon_.reset();
  registry_.reset();
  if (!work_dir_.empty()) std::filesystem::remove_all(work_dir_);
}

void RegistryTest::StartDaemon(const std::string& config) {
  DaemonOptions options;
  options.config_text = config;
  auto daemon = TestDaemon::Start(options);
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  daemon_ = *std::move(daemon);
}

void RegistryTest::PushFixture(const std::string& name, const std::string& host,
                               const std::string& repo, const std::vector<std::string>& creds,
                               bool tls_verify) {
  std::vector<std::string> argv = {"skopeo", "copy", "-q", "--all",
                                   absl::StrCat("--dest-tls-verify=", tls_verify ? "true" : "false")};
  argv.insert(argv.end(), creds.begin(), creds.end());
  argv.push_back(absl::StrCat("oci:", Layout(), ":", name));
  argv.push_back(absl::StrCat("docker://", host, "/", repo));
  CommandResult result = Run(argv);
  ASSERT_TRUE(result.ok()) << result.Describe();
}

CommandResult RegistryTest::Run(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
  RunOptions options;
  options.timeout = timeout;
  options.env = {"CONTAINERD_ADDRESS=", "CONTAINERD_NAMESPACE=default", "BERTH_ADDRESS=",
                 "BERTH_NAMESPACE=default", "BERTH_AUTH_CONFIG=" + auth_config_,
                 "HOME=" + work_dir_};
  auto result = RunCommand(argv, options);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : CommandResult{};
}

CommandResult RegistryTest::Berthctl(std::vector<std::string> args, const std::string& ns) {
  args.insert(args.begin(), {BuildPath("ctl/berthctl"), "-a", daemon_->address(), "-n", ns});
  return Run(args);
}

CommandResult RegistryTest::Ctr(std::vector<std::string> args, const std::string& ns) {
  args.insert(args.begin(), {"/usr/bin/ctr", "-a", daemon_->address(), "-n", ns});
  return Run(args);
}

std::vector<std::string> RegistryTest::ContentDigests(const std::string& ns) {
  CommandResult result = Ctr({"content", "ls", "-q"}, ns);
  EXPECT_TRUE(result.ok()) << result.Describe();
  return absl::StrSplit(result.out, '\n', absl::SkipEmpty());
}

bool RegistryTest::HasContent(const std::string& digest, const std::string& ns) {
  for (const std::string& d : ContentDigests(ns)) {
    if (d == digest) return true;
  }
  return false;
}

}  // namespace berth::testutil
