#pragma once

// The fixture of the registry tests: Debian's docker-registry on 127.0.0.1 with a free port and
// a temp storage dir (optionally htpasswd basic auth or TLS), tests/registry/proxy.py in front
// of it for bearer tokens and faults, test images built once per binary by make_images.sh plus
// make_multi.py (a two-platform index), pushed into the registry with skopeo, and a private
// berthd per test driven through berthctl and ctr.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/process.h"
#include "tests/testutil/test_daemon.h"

namespace berth::testutil {

int FreePort();
// Waits until 127.0.0.1:port accepts connections.
bool WaitForPort(int port, std::chrono::milliseconds timeout);

struct RegistryOptions {
  std::string htpasswd_file;  // basic auth when set
  std::string tls_cert, tls_key;
};

// docker-registry serving a temp storage dir; stopped (by PID) when destroyed.
class LocalRegistry {
 public:
  static absl::StatusOr<std::unique_ptr<LocalRegistry>> Start(const std::string& dir,
                                                              const RegistryOptions& options);
  int port() const { return port_; }
  std::string host() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int port_ = 0;
  std::unique_ptr<BackgroundProcess> process_;
};

// proxy.py in `mode` in front of the registry at `upstream`.
class Proxy {
 public:
  static absl::StatusOr<std::unique_ptr<Proxy>> Start(const std::string& mode, int upstream,
                                                      const std::vector<std::string>& extra = {});
  int port() const { return port_; }
  std::string host() const { return absl::StrCat("127.0.0.1:", port_); }
  std::string Log() const { return process_->Stdout(); }
  BackgroundProcess& process() { return *process_; }

 private:
  int port_ = 0;
  std::unique_ptr<BackgroundProcess> process_;
};

class RegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;

  // Starts the test's berthd (once) with `config` as its config.toml.
  void StartDaemon(const std::string& config = "version = 2\n");
  // skopeo copy of oci:<layout>:<name> (all platforms) to docker://<host>/<repo>.
  void PushFixture(const std::string& name, const std::string& host, const std::string& repo,
                   const std::vector<std::string>& creds = {}, bool tls_verify = false);

  CommandResult Run(const std::vector<std::string>& argv,
                    std::chrono::seconds timeout = std::chrono::seconds(120));
  CommandResult Berthctl(std::vector<std::string> args, const std::string& ns = "default");
  CommandResult Ctr(std::vector<std::string> args, const std::string& ns = "default");
  // Digests listed by `ctr content ls -q` in `ns`.
  std::vector<std::string> ContentDigests(const std::string& ns = "default");
  bool HasContent(const std::string& digest, const std::string& ns = "default");
  std::string Temp(const std::string& name) const { return work_dir_ + "/" + name; }
  std::string Layout() const { return *images_dir_ + "/oci"; }

  static inline std::string* images_dir_ = nullptr;
  // From make_multi.py: the index, its arm64 manifest, its amd64 (= busybox) manifest.
  static inline std::string multi_index_, multi_arm64_, busybox_manifest_;
  std::unique_ptr<TestDaemon> daemon_;
  std::unique_ptr<LocalRegistry> registry_;
  std::string work_dir_;     // per test, removed afterwards
  std::string auth_config_;  // BERTH_AUTH_CONFIG for berthctl
};

}  // namespace berth::testutil
