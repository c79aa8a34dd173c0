#pragma once

// The OCI runtime spec `run` gives a new container: containerd's default Linux spec (new pid,
// ipc, uts, mount and network namespaces; /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys
// and /run mounts; masked and read-only paths; cgroupsPath /<ns>/<id>) with Docker's default
// capabilities and seccomp profile, per-container /etc/hosts, /etc/resolv.conf and
// /etc/hostname bind mounts, then the image config (Env, Entrypoint, Cmd, WorkingDir, User)
// and the flags (-e, -w, -u, -t, --memory, --cpus) on top.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace berth::ctl {

struct SpecOptions {
  std::string ns;
  std::string id;
  std::string hostname;             // default: the first 12 characters of the ID
  nlohmann::json image_config;      // the image config's "config" object
  std::vector<std::string> command;  // replaces the image's Cmd when not empty
  std::vector<std::string> entrypoint;  // replaces the image's Entrypoint when not empty
  std::vector<std::string> env;     // KEY=VALUE, or KEY to take the value from berthctl's env
  std::string workdir;
  std::string user;                 // uid[:gid] (numeric) or "root"
  bool terminal = false;
  std::string memory;               // "64m", "1g", bytes; "" for no limit
  double cpus = 0;                  // 0 for no limit
  std::string etc_dir;              // directory with hosts, resolv.conf, hostname to bind
};

// The spec, or InvalidArgument for a bad flag (memory size, user, no command at all).
absl::StatusOr<nlohmann::json> GenerateSpec(const SpecOptions& options);

// Writes hosts, resolv.conf (the host's, without loopback name servers, which the container's
// network namespace cannot reach) and hostname into `dir`. Written without fsync (six of them
// cost ~5 ms per `run`): `dir` is under /run, which a host crash clears anyway.
absl::Status WriteEtcFiles(const std::string& dir, const std::string& hostname);

// "64m" -> 67108864. Suffixes b, k, m, g, t (1024-based, as Docker); InvalidArgument otherwise.
absl::StatusOr<int64_t> ParseMemorySize(const std::string& text);

// The process object for an exec: the container's process with other args, env additions,
// terminal, working directory and user.
absl::StatusOr<nlohmann::json> ExecProcess(const nlohmann::json& container_spec,
                                           const std::vector<std::string>& args,
                                           const std::vector<std::string>& env,
                                           const std::string& workdir, const std::string& user,
                                           bool terminal);

}  // namespace berth::ctl
