#include "ctl/commands/stats.h"

#include <unistd.h>

#include <chrono>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ctl/commands/container_util.h"
#include "ctl/commands/image_util.h"
#include "ctl/methods.h"
#include "ctl/output.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "plugins/base/status_macros.h"

namespace berth::ctl {
namespace {

using nlohmann::json;

struct Sample {
  uint64_t cpu_ns = 0, memory = 0, memory_limit = 0, pids = 0;
  std::chrono::steady_clock::time_point at;
};

// The varint at `path` (field numbers from the outermost message inwards), 0 if absent. The
// metrics types are not among berthctl's messages, so the wire format is walked directly.
uint64_t Varint(absl::string_view bytes, std::initializer_list<int> path) {
  using google::protobuf::internal::WireFormatLite;
  auto it = path.begin();
  while (it != path.end()) {
    google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                              static_cast<int>(bytes.size()));
    bool last = it + 1 == path.end();
    bool found = false;
    while (uint32_t tag = in.ReadTag()) {
      int number = WireFormatLite::GetTagFieldNumber(tag);
      WireFormatLite::WireType type = WireFormatLite::GetTagWireType(tag);
      if (number == *it && last && type == WireFormatLite::WIRETYPE_VARINT) {
        uint64_t value = 0;
        return in.ReadVarint64(&value) ? value : 0;
      }
      if (number == *it && !last && type == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
        uint32_t size = 0;
        if (!in.ReadVarint32(&size)) return 0;
        const void* data = nullptr;
        int available = 0;
        if (!in.GetDirectBufferPointer(&data, &available) ||
            static_cast<uint32_t>(available) < size) {
          return 0;  // truncated, or an empty message: nothing inside
        }
        bytes = absl::string_view(static_cast<const char*>(data), size);
        found = true;
        break;
      }
      if (!WireFormatLite::SkipField(&in, tag)) return 0;
    }
    if (!found) return 0;
    ++it;
  }
  return 0;
}

absl::StatusOr<Sample> Measure(Client& client, const std::string& id) {
  tasks_api::MetricsRequest request;
  request.add_filters(absl::StrCat("id==", id));
  tasks_api::MetricsResponse response;
  RETURN_IF_ERROR(client.Call(methods::kTasksMetrics, request, &response));
  if (response.metrics().empty()) {
    return absl::NotFoundError(absl::StrCat("no metrics for container ", id));
  }
  const auto& data = response.metrics(0).data();
  Sample sample;
  sample.at = std::chrono::steady_clock::now();
  if (absl::EndsWith(data.type_url(), "cgroups.v2.Metrics")) {
    sample.pids = Varint(data.value(), {1, 1});
    sample.cpu_ns = Varint(data.value(), {2, 1}) * 1000;  // usage_usec
    sample.memory = Varint(data.value(), {4, 32});
    sample.memory_limit = Varint(data.value(), {4, 33});
  } else {  // cgroups v1
    sample.pids = Varint(data.value(), {2, 1});
    sample.cpu_ns = Varint(data.value(), {3, 1, 1});  // cpu.usage.total
    sample.memory = Varint(data.value(), {4, 33, 2});   // memory.usage.usage
    sample.memory_limit = Varint(data.value(), {4, 33, 1});
  }
  return sample;
}

absl::Status StatsCommand(Client& client, const std::vector<std::string>& refs) {
  std::vector<Container> containers;
  if (refs.empty()) {
    ASSIGN_OR_RETURN(containers, ListContainers(client));
  }
  for (const std::string& ref : refs) {
    ASSIGN_OR_RETURN(Container container, FindContainer(client, ref));
    ASSIGN_OR_RETURN(std::optional<TaskProcess> task, GetTask(client, container.id()));
    if (!task.has_value() || !IsRunning(*task)) {
      return absl::FailedPreconditionError(absl::StrCat("container ", ref, " is not running"));
    }
    containers.push_back(container);
  }
  Table table({"CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"});
  json out = json::array();
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  for (const Container& container : containers) {
    absl::StatusOr<Sample> first = Measure(client, container.id());
    if (!first.ok()) {
      if (refs.empty()) continue;  // not running: `stats` without names shows running ones
      return first.status();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ASSIGN_OR_RETURN(Sample second, Measure(client, container.id()));
    double wall_ns = std::chrono::duration<double, std::nano>(second.at - first->at).count();
    double cpu = wall_ns > 0 ? 100.0 * static_cast<double>(second.cpu_ns - first->cpu_ns) / wall_ns
                             : 0;
    // cgroups report "no limit" as a huge number; show the host's memory instead, as docker.
    uint64_t host = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
    uint64_t limit = second.memory_limit == 0 || second.memory_limit > host ? host
                                                                            : second.memory_limit;
    double mem_pct = limit > 0 ? 100.0 * static_cast<double>(second.memory) / limit : 0;
    table.AddRow({ShortId(container.id()), container.id(), absl::StrFormat("%.2f%%", cpu),
                  absl::StrCat(HumanSize(second.memory), " / ", HumanSize(limit)),
                  absl::StrFormat("%.2f%%", mem_pct), std::to_string(second.pids)});
    out.push_back({{"id", container.id()}, {"cpu_percent", cpu}, {"online_cpus", cpus},
                   {"memory_usage", second.memory}, {"memory_limit", limit},
                   {"memory_percent", mem_pct}, {"pids", second.pids}});
  }
  Print(client.options().format, table, out);
  return absl::OkStatus();
}

}  // namespace

void AddStatsCommand(CLI::App& app, Action& action) {
  auto refs = std::make_shared<std::vector<std::string>>();
  auto no_stream = std::make_shared<bool>(false);
  CLI::App* stats = app.add_subcommand("stats", "Show containers' resource usage (one sample)");
  stats->add_flag("--no-stream", *no_stream, "accepted for docker compatibility (always on)");
  stats->add_option("containers", *refs);
  stats->callback([&action, refs] {
    action = [refs](Client& client) { return StatsCommand(client, *refs); };
  });
}

}  // namespace berth::ctl
