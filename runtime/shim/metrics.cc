#include "runtime/shim/metrics.h"

#include <cstdint>
#include <map>

namespace berth::shim {
namespace {

// Minimal protobuf writer: varint fields and nested messages.
class Writer {
 public:
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void Uint(int field, uint64_t v) {
    if (v == 0) return;  // proto3 default: omitted.
    Varint(static_cast<uint64_t>(field) << 3);
    Varint(v);
  }
  void Message(int field, const std::string& bytes) {
    Varint((static_cast<uint64_t>(field) << 3) | 2);
    Varint(bytes.size());
    out_ += bytes;
  }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

// MemoryStat fields 1-32 by their memory.stat key (the total_* keys are fields 18-32).
const std::map<std::string, int>& MemoryStatFields() {
  static const auto* fields = new std::map<std::string, int>{
      {"cache", 1},           {"rss", 2},           {"rss_huge", 3},       {"mapped_file", 4},
      {"dirty", 5},           {"writeback", 6},     {"pgpgin", 7},         {"pgpgout", 8},
      {"pgfault", 9},         {"pgmajfault", 10},   {"inactive_anon", 11}, {"active_anon", 12},
      {"inactive_file", 13},  {"active_file", 14},  {"unevictable", 15},
      {"hierarchical_memory_limit", 16},            {"hierarchical_memsw_limit", 17},
      {"total_cache", 18},    {"total_rss", 19},    {"total_rss_huge", 20},
      {"total_mapped_file", 21}, {"total_dirty", 22}, {"total_writeback", 23},
      {"total_pgpgin", 24},   {"total_pgpgout", 25}, {"total_pgfault", 26},
      {"total_pgmajfault", 27}, {"total_inactive_anon", 28}, {"total_active_anon", 29},
      {"total_inactive_file", 30}, {"total_active_file", 31}, {"total_unevictable", 32}};
  return *fields;
}

std::string MemoryEntry(uint64_t limit, uint64_t usage, uint64_t max, uint64_t failcnt) {
  Writer w;
  w.Uint(1, limit);
  w.Uint(2, usage);
  w.Uint(3, max);
  w.Uint(4, failcnt);
  return w.str();
}

}  // namespace

google::protobuf::Any MetricsV1Any(const oci::CgroupStats& s) {
  Writer pids;
  pids.Uint(1, s.pids_current);
  pids.Uint(2, s.pids_limit);

  Writer usage;
  usage.Uint(1, s.cpu_usage_total_ns);
  usage.Uint(2, s.cpu_usage_kernel_ns);
  usage.Uint(3, s.cpu_usage_user_ns);
  if (!s.cpu_usage_percpu_ns.empty()) {
    Writer packed;
    for (uint64_t v : s.cpu_usage_percpu_ns) packed.Varint(v);
    usage.Message(4, packed.str());
  }
  Writer throttle;
  throttle.Uint(1, s.cpu_periods);
  throttle.Uint(2, s.cpu_throttled_periods);
  throttle.Uint(3, s.cpu_throttled_time_ns);
  Writer cpu;
  cpu.Message(1, usage.str());
  cpu.Message(2, throttle.str());

  Writer memory;
  for (const auto& [key, field] : MemoryStatFields()) {
    if (auto it = s.memory_stat.find(key); it != s.memory_stat.end()) memory.Uint(field, it->second);
  }
  memory.Message(33, MemoryEntry(s.memory_limit, s.memory_usage, s.memory_max_usage,
                                 s.memory_failcnt));
  memory.Message(34, MemoryEntry(s.memory_swap_limit, s.memory_swap_usage, 0, 0));

  Writer metrics;
  metrics.Message(2, pids.str());
  metrics.Message(3, cpu.str());
  metrics.Message(4, memory.str());

  google::protobuf::Any any;
  any.set_type_url("io.containerd.cgroups.v1.Metrics");
  any.set_value(metrics.str());
  return any;
}

}  // namespace berth::shim
