#pragma once

// Test helpers for the runtime behaviour tests: busybox bundles in temp dirs, running a
// command line and capturing its output, and the runtimes under test (berth-runtime, runc,
// crun in a private mount namespace with the cgroup2 mount hidden).

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "plugins/base/file_util.h"
#include "runtime/oci/spec.h"

namespace berth::oci::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout + stderr
};

inline CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// For commands that leave a process behind holding their stdio (`create`, `run -d`): the
// output goes through a file so the caller does not wait for the container to exit.
inline CommandResult RunDetached(const std::string& command) {
  char tmpl[] = "/tmp/berth-oci-out-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd >= 0) close(fd);
  CommandResult r = RunCommand(command + " >" + tmpl + " 2>&1 </dev/null");
  FILE* f = fopen(tmpl, "r");
  if (f != nullptr) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) r.output.append(buf, n);
    fclose(f);
  }
  unlink(tmpl);
  return r;
}

inline std::string BerthRuntimePath() {
  const char* dir = getenv("BERTH_BUILD_DIR");
  return absl::StrCat(dir ? dir : ".", "/runtime/oci/berth-runtime");
}

inline bool HaveBinary(const std::string& name) {
  return RunCommand(absl::StrCat("command -v ", name)).exit_code == 0;
}

// A runtime under test: a command prefix taking a --root.
struct RuntimeUnderTest {
  std::string name;
  std::string prefix;  // e.g. "/path/berth-runtime --root /tmp/x"
};

// A temporary bundle with a busybox rootfs and runc's default config (terminal off).
class Bundle {
 public:
  Bundle() {
    char tmpl[] = "/tmp/berth-oci-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    chmod(dir_.c_str(), 0755);  // Reachable from a user namespace's root.
    std::string rootfs = dir_ + "/rootfs";
    for (const char* d : {"", "/bin", "/proc", "/sys", "/dev", "/etc", "/tmp"}) {
      mkdir((rootfs + d).c_str(), 0755);
    }
    RunCommand(absl::StrCat("cp /usr/bin/busybox ", rootfs, "/bin/busybox"));
    for (const char* applet : {"sh", "true", "false", "cat", "ls", "id", "hostname", "mount",
                               "echo", "sleep", "ps", "grep", "head", "dd", "ulimit", "touch",
                               "stat", "readlink", "tr", "wc", "sort", "seq", "yes", "nproc",
                               "mkdir", "tty", "cut", "sed", "stty"}) {
      std::string link = absl::StrCat(rootfs, "/bin/", applet);
      (void)symlink("busybox", link.c_str());
    }
    WriteFileAtomic(rootfs + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n").IgnoreError();
    config_ = nlohmann::json::parse(DefaultSpecJson(false));
    config_["process"]["terminal"] = false;
    config_["root"]["readonly"] = false;
  }
  ~Bundle() { RunCommand(absl::StrCat("rm -rf ", dir_)); }

  const std::string& dir() const { return dir_; }
  nlohmann::json& config() { return config_; }
  void SetArgs(const std::vector<std::string>& args) { config_["process"]["args"] = args; }
  void Write() {
    WriteFileAtomic(dir_ + "/config.json", config_.dump(1)).IgnoreError();
  }

 private:
  std::string dir_;
  nlohmann::json config_;
};

// A state root in a temp dir, removed afterwards.
class StateRoot {
 public:
  StateRoot() {
    char tmpl[] = "/tmp/berth-oci-root-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~StateRoot() { RunCommand(absl::StrCat("rm -rf ", dir_)); }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace berth::oci::testing
