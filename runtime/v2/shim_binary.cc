#include "runtime/v2/shim_binary.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "runtime/oci/linux/sealed_exe.h"
#include "runtime/v2/child_process.h"

namespace berth::runtime_v2 {
namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(10);
constexpr absl::Duration kDeleteTimeout = absl::Seconds(5);  // io.containerd.timeout.shim.cleanup

bool IsExecutable(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

std::string SelfDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  std::string self(buf, static_cast<size_t>(n));
  return self.substr(0, self.find_last_of('/'));
}

std::vector<std::string> BaseArgs(const std::string& binary, const Bundle& bundle,
                                  const ShimEnv& env) {
  return {binary, "-namespace", bundle.ns(), "-address", env.grpc_address, "-publish-binary",
          env.publish_binary, "-id", bundle.id()};
}

std::vector<std::string> ShimEnvVars(const ShimEnv& env) {
  return {absl::StrCat("TTRPC_ADDRESS=", env.ttrpc_address), "GOMAXPROCS=2"};
}

// berth-shim's `start` re-executes itself from a file nobody can write (sealed_exe.h) before
// it forks the shim server. Exec'd by the daemon through such a file in the first place, it
// need not: one exec and one overlay mount less per container. Each binary is opened once and
// again when the file on disk changes (an upgrade); replaced fds are kept open, as a spawn in
// progress may still be exec'ing through one.
class SealedShims {
 public:
  // "/proc/self/fd/<n>" to exec `binary` through, or "" (exec it as it is) if it cannot be
  // sealed here.
  std::string ExecPath(const std::string& binary) {
    struct stat st;
    if (stat(binary.c_str(), &st) != 0) return "";
    absl::MutexLock lock(&mu_);
    auto it = current_.find(binary);
    if (it != current_.end() && it->second.ino == st.st_ino && it->second.dev == st.st_dev &&
        it->second.mtime_ns == MtimeNs(st)) {
      return absl::StrCat("/proc/self/fd/", it->second.fd);
    }
    absl::StatusOr<UniqueFd> fd = oci::OpenSealed(binary);
    if (!fd.ok()) {
      BERTH_LOG(WARN) << "shim " << binary << " is exec'd unsealed: " << fd.status();
      return "";
    }
    current_[binary] = Entry{st.st_dev, st.st_ino, MtimeNs(st), fd->get()};
    fds_.push_back(*std::move(fd));
    return absl::StrCat("/proc/self/fd/", fds_.back().get());
  }

 private:
  struct Entry {
    dev_t dev;
    ino_t ino;
    int64_t mtime_ns;
    int fd;
  };
  static int64_t MtimeNs(const struct stat& st) {
    return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  }

  absl::Mutex mu_;
  std::map<std::string, Entry> current_ ABSL_GUARDED_BY(mu_);
  std::vector<UniqueFd> fds_ ABSL_GUARDED_BY(mu_);
};

bool IsBerthShim(const std::string& binary) {
  std::string name = binary.substr(binary.find_last_of('/') + 1);
  for (const std::string& ours : ShimBinaryNames("io.containerd.berth.v1")) {
    if (name == ours) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> ShimBinaryNames(absl::string_view runtime) {
  if (runtime == "io.containerd.berth.v1") return {"berth-shim", "containerd-shim-berth-v1"};
  std::vector<absl::string_view> parts = absl::StrSplit(runtime, '.');
  if (parts.size() < 2) return {};
  return {absl::StrCat("containerd-shim-", parts[parts.size() - 2], "-", parts.back())};
}

absl::StatusOr<std::string> ResolveShimBinary(absl::string_view runtime) {
  if (absl::StartsWith(runtime, "/")) {
    std::string path(runtime);
    if (IsExecutable(path)) return path;
    return NotFound(absl::StrCat("runtime binary ", runtime));
  }
  std::vector<std::string> names = ShimBinaryNames(runtime);
  if (names.empty()) return InvalidArgument(absl::StrCat("invalid runtime name ", runtime));
  const char* path_env = getenv("PATH");
  std::vector<std::string> dirs =
      absl::StrSplit(path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin", ':',
                     absl::SkipEmpty());
  dirs.push_back(SelfDir());
  for (const std::string& name : names) {
    for (const std::string& dir : dirs) {
      std::string candidate = absl::StrCat(dir, "/", name);
      if (IsExecutable(candidate)) return candidate;
    }
  }
  return NotFound(absl::StrCat("runtime ", runtime, ": shim binary ", names.front()));
}

absl::StatusOr<std::string> ParseStartOutput(absl::string_view output) {
  absl::string_view text = absl::StripAsciiWhitespace(output);
  if (text.empty()) return InvalidArgument("shim start printed no address");
  if (text.front() == '{') {
    nlohmann::json json = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
      return InvalidArgument(absl::StrCat("shim start output is not valid JSON: ", text));
    }
    int version = json.value("version", 0);
    std::string address = json.value("address", std::string());
    std::string protocol = json.value("protocol", std::string("ttrpc"));
    if (version >= 2) {
      if (version > 3) return InvalidArgument(absl::StrCat("unsupported shim version ", version));
      if (protocol != "ttrpc") {
        return Unimplemented(absl::StrCat("shim protocol ", protocol));
      }
      if (address.empty()) return InvalidArgument("shim start JSON has no address");
      return address;
    }
  }
  // A 1.6 shim: the whole output is the address. Anything else (e.g. a log line) is an error.
  if (text.find_first_of(" \t\n") != absl::string_view::npos) {
    return InvalidArgument(absl::StrCat("unexpected shim start output: ", text));
  }
  return std::string(text);
}

absl::StatusOr<UniqueFd> OpenShimLog(const Bundle& bundle) {
  std::string path = bundle.File("log");
  if (mkfifo(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError(errno, "mkfifo", path);
  }
  UniqueFd fd(open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, "open shim log", path);
  return fd;
}

absl::StatusOr<std::string> StartShim(const std::string& binary, const Bundle& bundle,
                                      const ShimEnv& env, const std::string& options_any,
                                      bool spare) {
  CommandSpec spec{.argv = BaseArgs(binary, bundle, env),
                   .cwd = bundle.path(),
                   .env = ShimEnvVars(env),
                   .stdin_data = options_any,
                   .timeout = kStartTimeout};
  if (env.debug) spec.argv.push_back("-debug");
  if (spare) {
    // An adopted spare writes its task's namespace and id (up to 76 characters each) over its
    // command line in place, so that ps shows the task: -spare-room makes the room.
    spec.argv.insert(spec.argv.end(), {"-spare", "-spare-room", std::string(2 * 76, '.')});
  }
  spec.argv.push_back("start");
  if (IsBerthShim(binary)) {
    static SealedShims* sealed = new SealedShims();  // lives as long as the daemon
    spec.exec_path = sealed->ExecPath(binary);
  }
  ASSIGN_OR_RETURN(CommandOutput output, RunCommand(spec));
  if (!output.exited_ok()) {
    return absl::UnknownError(absl::StrCat(
        "start shim ", binary, ": ", output.Describe(), ": ",
        absl::StripAsciiWhitespace(absl::StrCat(output.out, " ", output.err))));
  }
  return ParseStartOutput(output.out);
}

absl::StatusOr<containerd::task::v2::DeleteResponse> DeleteShim(const std::string& binary,
                                                                const Bundle& bundle,
                                                                const ShimEnv& env) {
  CommandSpec spec{.argv = BaseArgs(binary, bundle, env),
                   .cwd = bundle.path(),
                   .env = ShimEnvVars(env),
                   .timeout = kDeleteTimeout};
  spec.argv.insert(spec.argv.end(), {"-bundle", bundle.path(), "delete"});
  ASSIGN_OR_RETURN(CommandOutput output, RunCommand(spec));
  if (!output.exited_ok()) {
    return absl::UnknownError(absl::StrCat("shim delete ", bundle.id(), ": ", output.Describe(),
                                           ": ", absl::StripAsciiWhitespace(output.err)));
  }
  containerd::task::v2::DeleteResponse response;
  if (!response.ParseFromString(output.out)) {
    return absl::DataLossError(absl::StrCat("shim delete ", bundle.id(), ": bad response"));
  }
  return response;
}

}  // namespace berth::runtime_v2
