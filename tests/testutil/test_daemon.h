#pragma once

// TestDaemon runs a private berthd for one test: a fresh temp directory
// (/tmp/berth-XXXXXX, short so the socket path stays far below the 108-byte limit) holding
//
//   root/         --root      persistent data (metadata database, uuid)
//   state/        --state
//   berthd.sock   --address
//   config.toml   --config    (DaemonOptions::config_text)
//   berthd.log    the daemon's stdout and stderr, appended across restarts
//
// Start() returns once grpc.health.v1 answers SERVING. The destructor stops the daemon
// (SIGTERM, SIGKILL after a timeout), removes the directory and, if the current test failed
// (or BERTH_TEST_DAEMON_LOG=always), prints the log. The binary is $BERTH_BUILD_DIR/services/berthd (BERTH_BUILD_DIR is set by
// berth_test for ctest; the build directory this was compiled in is the fallback).
//
// Not thread-safe: drive a TestDaemon from the test's main thread (its child's death signal is
// tied to the thread that started it); clients may call it from any thread.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"

namespace berth::testutil {

// `relative` (e.g. "ctl/berthctl") in the build tree under test: $BERTH_BUILD_DIR, or the
// build directory this test was configured in.
std::string BuildPath(const std::string& relative);

struct DaemonOptions {
  std::string config_text = "version = 2\n";
  std::string log_level = "info";
  std::vector<std::string> extra_args;
  std::chrono::milliseconds start_timeout = std::chrono::seconds(30);
  std::chrono::milliseconds stop_timeout = std::chrono::seconds(20);
};

class TestDaemon {
 public:
  static absl::StatusOr<std::unique_ptr<TestDaemon>> Start(DaemonOptions options = {});
  ~TestDaemon();
  TestDaemon(const TestDaemon&) = delete;
  TestDaemon& operator=(const TestDaemon&) = delete;

  // The socket path (pass to ctr -a, or MakeChannel).
  const std::string& address() const { return address_; }
  const std::string& root() const { return root_; }
  const std::string& state() const { return state_; }
  const std::string& dir() const { return dir_; }
  const std::string& log_path() const { return log_path_; }
  // The running daemon's PID, 0 when it is not running.
  pid_t pid() const { return pid_; }

  // A new channel to the daemon (its own connection).
  std::shared_ptr<grpc::Channel> NewChannel() const;

  // Sends `signal` to the daemon and waits for it to exit (SIGKILL after the stop timeout).
  // Returns the wait status. FailedPrecondition if it is not running.
  absl::StatusOr<int> Kill(int signal);
  // Kill(SIGTERM), expecting a clean exit 0.
  absl::Status Stop();
  // Stops the daemon if it runs (SIGTERM) and starts it again on the same directories.
  absl::Status Restart();
  // Starts the daemon if it is not running and waits until it serves.
  absl::Status StartProcess();
  // Whether the daemon process is alive (reaps it if it has exited).
  bool Running();
  // True when the health service answers SERVING within `timeout`.
  bool Healthy(std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

  std::string ReadLog() const;

  static std::string BinaryPath();

 private:
  TestDaemon(DaemonOptions options, std::string dir);
  absl::Status WaitServing();

  DaemonOptions options_;
  std::string dir_, root_, state_, address_, config_path_, log_path_;
  pid_t pid_ = 0;
  int starts_ = 0;
};

// Removes `path` and everything under it; errors are ignored.
void RemoveTree(const std::string& path);

// A config for Debian's containerd 1.6 that keeps everything under `dir` (root, state, opt)
// and serves gRPC on `socket` (ttrpc beside it), without the CRI plugin.
std::string TempContainerdConfig(const std::string& dir, const std::string& socket);

// Removes the (empty) per-namespace cgroup parents runtimes leave, /sys/fs/cgroup/*/<ns>:
// a container's cgroup is /<ns>/<id>, and only <id> goes with it (as with runc).
void RemoveNamespaceCgroups(const std::string& ns);

}  // namespace berth::testutil
