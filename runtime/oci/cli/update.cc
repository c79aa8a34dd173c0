#include <iostream>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "runtime/oci/cli/cli.h"
#include "runtime/oci/container.h"

namespace berth::oci::cli {
namespace {

struct Flags {
  std::string id;
  std::string resources_file;
  std::string memory, memory_reservation, memory_swap;
  std::optional<uint64_t> cpu_shares, cpu_period;
  std::optional<int64_t> cpu_quota, pids_limit;
  std::optional<uint16_t> blkio_weight;
  std::string cpuset_cpus, cpuset_mems;
};

// "512m", "1g", "1024", "-1" -> bytes (go-units RAMInBytes, binary units).
absl::StatusOr<int64_t> ParseBytes(const std::string& text) {
  std::string t = absl::AsciiStrToLower(text);
  int64_t mult = 1;
  while (!t.empty() && (t.back() == 'b' || t.back() == 'i')) t.pop_back();
  if (!t.empty()) {
    switch (t.back()) {
      case 'k': mult = 1LL << 10; break;
      case 'm': mult = 1LL << 20; break;
      case 'g': mult = 1LL << 30; break;
      case 't': mult = 1LL << 40; break;
      default: mult = 0;
    }
    if (mult != 0) t.pop_back(); else mult = 1;
  }
  int64_t v = 0;
  if (!absl::SimpleAtoi(t, &v)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid size `", text, "`"));
  }
  return v < 0 ? -1 : v * mult;
}

absl::StatusOr<Resources> FromFlags(const Flags& f) {
  Resources r;
  if (!f.resources_file.empty()) {
    std::string text;
    if (f.resources_file == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      ASSIGN_OR_RETURN(text, ReadFile(f.resources_file));
    }
    ASSIGN_OR_RETURN(r, ParseResourcesJson(text));
  }
  auto mem = [&]() -> MemoryResources& {
    if (!r.memory) r.memory = MemoryResources{};
    return *r.memory;
  };
  auto cpu = [&]() -> CpuResources& {
    if (!r.cpu) r.cpu = CpuResources{};
    return *r.cpu;
  };
  if (!f.memory.empty()) {
    ASSIGN_OR_RETURN(mem().limit, ParseBytes(f.memory));
  }
  if (!f.memory_reservation.empty()) {
    ASSIGN_OR_RETURN(mem().reservation, ParseBytes(f.memory_reservation));
  }
  if (!f.memory_swap.empty()) {
    ASSIGN_OR_RETURN(mem().swap, ParseBytes(f.memory_swap));
  }
  if (f.cpu_shares) cpu().shares = f.cpu_shares;
  if (f.cpu_period) cpu().period = f.cpu_period;
  if (f.cpu_quota) cpu().quota = f.cpu_quota;
  if (!f.cpuset_cpus.empty()) cpu().cpus = f.cpuset_cpus;
  if (!f.cpuset_mems.empty()) cpu().mems = f.cpuset_mems;
  if (f.pids_limit) r.pids_limit = f.pids_limit;
  if (f.blkio_weight) {
    if (!r.block_io) r.block_io = BlockIoResources{};
    r.block_io->weight = f.blkio_weight;
  }
  return r;
}

}  // namespace

void SetupUpdate(CLI::App& cmd, const Globals& g, VerbRun* run) {
  auto f = std::make_shared<Flags>();
  cmd.add_option("container-id", f->id, "the container's unique name")->required();
  cmd.add_option("-r,--resources", f->resources_file, "path to a resources JSON file ('-' for stdin)");
  cmd.add_option("--memory", f->memory, "memory limit (in bytes)");
  cmd.add_option("--memory-reservation", f->memory_reservation, "memory reservation or soft_limit");
  cmd.add_option("--memory-swap", f->memory_swap, "total memory usage (memory + swap)");
  cmd.add_option("--cpu-shares", f->cpu_shares, "CPU shares (relative weight vs. other containers)");
  cmd.add_option("--cpu-period", f->cpu_period, "CPU CFS period to be used for hardcapping");
  cmd.add_option("--cpu-quota", f->cpu_quota, "CPU CFS hardcap limit");
  cmd.add_option("--cpuset-cpus", f->cpuset_cpus, "CPU(s) to use");
  cmd.add_option("--cpuset-mems", f->cpuset_mems, "memory node(s) to use");
  cmd.add_option("--pids-limit", f->pids_limit, "maximum number of pids allowed in the container");
  cmd.add_option("--blkio-weight", f->blkio_weight, "block IO weight, between 10 and 1000");
  cmd.callback([f, &g, run] {
    *run = [f, &g]() -> absl::StatusOr<int> {
      ASSIGN_OR_RETURN(Resources r, FromFlags(*f));
      RETURN_IF_ERROR(Runtime(g.root).Update(f->id, r));
      return 0;
    };
  });
}

}  // namespace berth::oci::cli
