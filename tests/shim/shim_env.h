#pragma once

// Shared pieces of the berth-shim tests: the build's shim directory on PATH (berthd and
// containerd look shims up there), containers with runtime io.containerd.berth.v1 and runc
// options, and the checks that nothing of a task is left behind.

#include <memory>
#include <string>
#include <vector>

#include "containerd/services/containers/v1/containers.grpc.pb.h"
#include "grpcpp/channel.h"

namespace berth::shim_test {

inline constexpr char kBerthRuntime[] = "io.containerd.berth.v1";

// Why the shim tests cannot run here, or "" (root, busybox, ctr, the built shim).
std::string MissingPrerequisite();

// Prepends the directory of the built berth-shim (and containerd-shim-berth-v1) to PATH, for
// this process and the daemons it starts.
void PutShimOnPath();
std::string ShimDir();
// The built berth-runtime binary.
std::string BerthRuntimeBinary();

// Containers.Create with runtime io.containerd.berth.v1 and runc Options{BinaryName}.
class BerthContainers {
 public:
  BerthContainers(std::shared_ptr<grpc::Channel> channel, std::string ns);
  grpc::Status Create(const std::string& id, const std::string& spec_json,
                      const std::string& binary_name = "");

 private:
  std::string ns_;
  std::unique_ptr<containerd::services::containers::v1::Containers::Stub> stub_;
};

// PIDs of berth-shim processes serving daemon `grpc_address` (any task when `id` is empty);
// with `spares`, of its spare shims instead (runtime/v2/spare_shims.h), which serve none.
std::vector<int> ShimPids(const std::string& grpc_address, const std::string& id = "",
                          bool spares = false);
// SIGKILLs them; returns how many.
int KillShims(const std::string& grpc_address, const std::string& id = "");

// Mount points (from /proc/self/mountinfo) whose path contains `fragment`.
std::vector<std::string> MountsContaining(const std::string& fragment);
// cgroup directories /sys/fs/cgroup/<controller>/<ns>/<id> (or unified /<ns>/<id>) that exist.
std::vector<std::string> CgroupDirsOf(const std::string& ns, const std::string& id);

// VmRSS of `pid` in kB (0 if unknown).
long VmRssKb(int pid);

}  // namespace berth::shim_test
