#include "tests/shim/shim_env.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "containerd/runtime/runc/v1/options.pb.h"
#include "tests/testutil/grpc_client.h"

#ifndef BERTH_SHIM_DIR
#define BERTH_SHIM_DIR ""
#endif
#ifndef BERTH_RUNTIME_BINARY
#define BERTH_RUNTIME_BINARY ""
#endif

namespace berth::shim_test {
namespace {
constexpr char kSpecTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Spec";

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

std::string ShimDir() { return BERTH_SHIM_DIR; }
std::string BerthRuntimeBinary() { return BERTH_RUNTIME_BINARY; }

std::string MissingPrerequisite() {
  if (geteuid() != 0) return "not root";
  for (const std::string& path : {std::string("/usr/bin/busybox"), std::string("/usr/bin/ctr"),
                                  ShimDir() + "/berth-shim"}) {
    if (access(path.c_str(), X_OK) != 0) return absl::StrCat(path, " is not installed");
  }
  return "";
}

void PutShimOnPath() {
  const char* path = getenv("PATH");
  std::string current = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  if (absl::StartsWith(current, ShimDir() + ":")) return;
  setenv("PATH", absl::StrCat(ShimDir(), ":", current).c_str(), 1);
}

BerthContainers::BerthContainers(std::shared_ptr<grpc::Channel> channel, std::string ns)
    : ns_(std::move(ns)),
      stub_(containerd::services::containers::v1::Containers::NewStub(channel)) {}

grpc::Status BerthContainers::Create(const std::string& id, const std::string& spec_json,
                                     const std::string& binary_name) {
  containerd::services::containers::v1::CreateContainerRequest request;
  auto* c = request.mutable_container();
  c->set_id(id);
  c->mutable_runtime()->set_name(kBerthRuntime);
  containerd::runc::v1::Options options;
  options.set_binary_name(binary_name);
  c->mutable_runtime()->mutable_options()->set_type_url("containerd.runc.v1.Options");
  c->mutable_runtime()->mutable_options()->set_value(options.SerializeAsString());
  c->mutable_spec()->set_type_url(kSpecTypeUrl);
  c->mutable_spec()->set_value(spec_json);
  containerd::services::containers::v1::CreateContainerResponse response;
  return stub_->Create(testutil::NamespacedContext(ns_).get(), request, &response);
}

std::vector<int> ShimPids(const std::string& grpc_address, const std::string& id, bool spares) {
  const std::string nul(1, '\0');
  std::vector<int> out;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (struct dirent* entry = readdir(proc)) {
    int pid = atoi(entry->d_name);
    if (pid <= 0) continue;
    std::string cmdline = ReadWhole(absl::StrCat("/proc/", pid, "/cmdline"));
    if (!absl::StrContains(cmdline, "berth-shim") &&
        !absl::StrContains(cmdline, "containerd-shim-berth-v1")) {
      continue;
    }
    if (!absl::StrContains(cmdline, absl::StrCat(nul, "-address", nul, grpc_address, nul))) continue;
    if (!id.empty() && !absl::StrContains(cmdline, absl::StrCat(nul, "-id", nul, id, nul))) continue;
    // A spare (started ahead, no task yet) carries -spare until a task adopts it.
    bool spare = absl::StrContains(cmdline, absl::StrCat(nul, "-spare", nul));
    if (spare != spares) continue;
    out.push_back(pid);
  }
  closedir(proc);
  return out;
}

int KillShims(const std::string& grpc_address, const std::string& id) {
  int killed = 0;
  for (int pid : ShimPids(grpc_address, id)) {
    if (kill(pid, SIGKILL) == 0) ++killed;
  }
  return killed;
}

std::vector<std::string> MountsContaining(const std::string& fragment) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(ReadWhole("/proc/self/mountinfo"), '\n')) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    if (fields.size() > 4 && absl::StrContains(fields[4], fragment)) {
      out.emplace_back(fields[4]);
    }
  }
  return out;
}

std::vector<std::string> CgroupDirsOf(const std::string& ns, const std::string& id) {
  std::vector<std::string> out;
  DIR* root = opendir("/sys/fs/cgroup");
  if (root == nullptr) return out;
  while (struct dirent* entry = readdir(root)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::string dir = absl::StrCat("/sys/fs/cgroup/", name, "/", ns, "/", id);
    if (access(dir.c_str(), F_OK) == 0) out.push_back(dir);
  }
  closedir(root);
  if (access(absl::StrCat("/sys/fs/cgroup/", ns, "/", id).c_str(), F_OK) == 0) {
    out.push_back(absl::StrCat("/sys/fs/cgroup/", ns, "/", id));
  }
  return out;
}

long VmRssKb(int pid) {
  std::string status = ReadWhole(absl::StrCat("/proc/", pid, "/status"));
  size_t at = status.find("VmRSS:");
  if (at == std::string::npos) return 0;
  long kb = 0;
  std::string rest = status.substr(at + 6, status.find('\n', at) - at - 6);
  (void)absl::SimpleAtoi(absl::StripSuffix(absl::StripAsciiWhitespace(rest), " kB"), &kb);
  return kb;
}

}  // namespace berth::shim_test
