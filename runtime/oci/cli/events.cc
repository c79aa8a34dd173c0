// `events --stats`: one stats sample in runc's event JSON shape ({"type":"stats","id",
// "data":{cpu, memory, pids}}). The streaming mode is not implemented.

#include <cstdio>

#include <nlohmann/json.hpp>

#include "runtime/oci/cli/cli.h"
#include "runtime/oci/container.h"

namespace berth::oci::cli {
namespace {

nlohmann::json StatsJson(const CgroupStats& s) {
  using nlohmann::json;
  return json{
      {"cpu",
       {{"usage", {{"total", s.cpu_usage_total_ns}, {"percpu", s.cpu_usage_percpu_ns},
                   {"kernel", s.cpu_usage_kernel_ns}, {"user", s.cpu_usage_user_ns}}},
        {"throttling", {{"periods", s.cpu_periods}, {"throttledPeriods", s.cpu_throttled_periods},
                        {"throttledTime", s.cpu_throttled_time_ns}}}}},
      {"memory",
       {{"usage", {{"limit", s.memory_limit}, {"usage", s.memory_usage},
                   {"max", s.memory_max_usage}, {"failcnt", s.memory_failcnt}}},
        {"swap", {{"limit", s.memory_swap_limit}, {"usage", s.memory_swap_usage}}},
        {"raw", s.memory_stat}}},
      {"pids", {{"current", s.pids_current}, {"limit", s.pids_limit}}},
  };
}

}  // namespace

void SetupEvents(CLI::App& cmd, const Globals& g, VerbRun* run) {
  struct Flags {
    std::string id;
    bool stats = false;
  };
  auto f = std::make_shared<Flags>();
  cmd.add_option("container-id", f->id, "the container's unique name")->required();
  cmd.add_flag("--stats", f->stats, "display the container's stats then exit");
  cmd.add_option("--interval", "set the stats collection interval (ignored)");
  cmd.callback([f, &g, run] {
    *run = [f, &g]() -> absl::StatusOr<int> {
      if (!f->stats) return absl::UnimplementedError("events: only --stats is supported");
      absl::StatusOr<CgroupStats> stats = Runtime(g.root).Stats(f->id);
      if (!stats.ok()) return stats.status();
      nlohmann::json event = {{"type", "stats"}, {"id", f->id}, {"data", StatsJson(*stats)}};
      printf("%s\n", event.dump().c_str());
      return 0;
    };
  });
}

}  // namespace berth::oci::cli
