#include "tests/testutil/test_daemon.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testutil/grpc_client.h"
#include "tests/testutil/process.h"

#ifndef BERTH_DEFAULT_BUILD_DIR
#define BERTH_DEFAULT_BUILD_DIR ""
#endif

namespace berth::testutil {
namespace {

using Clock = std::chrono::steady_clock;

// The last `max` bytes of `text`, for messages.
std::string Tail(const std::string& text, size_t max = 16384) {
  return text.size() <= max ? text : "...\n" + text.substr(text.size() - max);
}

absl::Status WriteWholeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("write `", path, "` failed"));
  return absl::OkStatus();
}

}  // namespace

void RemoveTree(const std::string& path) {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

std::string BuildPath(const std::string& relative) {
  const char* env = getenv("BERTH_BUILD_DIR");
  std::string build = env != nullptr && *env != '\0' ? env : BERTH_DEFAULT_BUILD_DIR;
  return build + "/" + relative;
}

std::string TestDaemon::BinaryPath() { return BuildPath("services/berthd"); }

TestDaemon::TestDaemon(DaemonOptions options, std::string dir)
    : options_(std::move(options)),
      dir_(std::move(dir)),
      root_(dir_ + "/root"),
      state_(dir_ + "/state"),
      address_(dir_ + "/berthd.sock"),
      config_path_(dir_ + "/config.toml"),
      log_path_(dir_ + "/berthd.log") {}

absl::StatusOr<std::unique_ptr<TestDaemon>> TestDaemon::Start(DaemonOptions options) {
  std::string binary = BinaryPath();
  if (access(binary.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("berthd not found at `", binary, "` (set BERTH_BUILD_DIR)"));
  }
  char pattern[] = "/tmp/berth-XXXXXX";
  if (mkdtemp(pattern) == nullptr) return absl::InternalError("mkdtemp failed");
  std::unique_ptr<TestDaemon> daemon(new TestDaemon(std::move(options), pattern));
  if (absl::Status s = WriteWholeFile(daemon->config_path_, daemon->options_.config_text);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = daemon->StartProcess(); !s.ok()) return s;
  return daemon;
}

TestDaemon::~TestDaemon() {
  if (pid_ != 0) {
    int status = StopProcess(pid_, SIGTERM, options_.stop_timeout);
    pid_ = 0;
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      fprintf(stderr, "[TestDaemon] berthd did not stop cleanly: %s\n",
              DescribeWaitStatus(status).c_str());
    }
  }
  const char* always = getenv("BERTH_TEST_DAEMON_LOG");  // "always": print it for passing tests too
  if (::testing::Test::HasFailure() || (always != nullptr && std::string(always) == "always")) {
    fprintf(stderr, "[TestDaemon] log of berthd (%s):\n%s\n[TestDaemon] end of log\n",
            log_path_.c_str(), Tail(ReadLog()).c_str());
  }
  RemoveTree(dir_);
}

std::shared_ptr<grpc::Channel> TestDaemon::NewChannel() const { return MakeChannel(address_); }

absl::Status TestDaemon::StartProcess() {
  if (Running()) return absl::OkStatus();
  int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return absl::InternalError(absl::StrCat("open `", log_path_, "` failed"));
  std::string marker = absl::StrCat("=== TestDaemon: start ", ++starts_, " ===\n");
  (void)!write(log_fd, marker.data(), marker.size());
  std::vector<std::string> argv = {BinaryPath(),  "--config",    config_path_,
                                   "--root",      root_,         "--state",
                                   state_,        "--address",   address_,
                                   "--log-level", options_.log_level};
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  absl::StatusOr<pid_t> pid = SpawnProcess(argv, -1, log_fd, log_fd);
  close(log_fd);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  return WaitServing();
}

absl::Status TestDaemon::WaitServing() {
  Clock::time_point deadline = Clock::now() + options_.start_timeout;
  std::shared_ptr<grpc::Channel> channel = NewChannel();
  while (Clock::now() < deadline) {
    if (!Running()) {
      return absl::InternalError(
          absl::StrCat("berthd exited during start-up; log:\n", Tail(ReadLog())));
    }
    struct stat st;
    if (stat(address_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) &&
        HealthServing(channel, std::chrono::seconds(2))) {
      return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  (void)Kill(SIGKILL);
  return absl::DeadlineExceededError(
      absl::StrCat("berthd did not serve within the start timeout; log:\n", Tail(ReadLog())));
}

bool TestDaemon::Running() {
  if (pid_ == 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    pid_ = 0;
    return false;
  }
  return true;
}

absl::StatusOr<int> TestDaemon::Kill(int signal) {
  if (pid_ == 0) return absl::FailedPreconditionError("berthd is not running");
  int status = StopProcess(pid_, signal, options_.stop_timeout);
  pid_ = 0;
  return status;
}

absl::Status TestDaemon::Stop() {
  absl::StatusOr<int> status = Kill(SIGTERM);
  if (!status.ok()) return status.status();
  if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("berthd did not stop cleanly on SIGTERM: ",
                                          DescribeWaitStatus(*status), "; log:\n",
                                          Tail(ReadLog())));
}

absl::Status TestDaemon::Restart() {
  if (Running()) {
    if (absl::Status s = Stop(); !s.ok()) return s;
  }
  return StartProcess();
}

bool TestDaemon::Healthy(std::chrono::milliseconds timeout) const {
  return HealthServing(NewChannel(), timeout);
}

std::string TestDaemon::ReadLog() const {
  std::ifstream in(log_path_, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string TempContainerdConfig(const std::string& dir, const std::string& socket) {
  return absl::StrCat(
      "version = 2\nroot = \"", dir, "/root\"\nstate = \"", dir, "/state\"\n",
      "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \"", socket,
      "\"\n[ttrpc]\n  address = \"", socket, ".ttrpc\"\n",
      "[plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"", dir, "/opt\"\n");
}

void RemoveNamespaceCgroups(const std::string& ns) {
  DIR* root = opendir("/sys/fs/cgroup");
  if (root == nullptr) return;
  while (struct dirent* entry = readdir(root)) {
    if (entry->d_name[0] == '.') continue;
    rmdir(absl::StrCat("/sys/fs/cgroup/", entry->d_name, "/", ns).c_str());
  }
  closedir(root);
}

}  // namespace berth::testutil
