#include "services/server/idle_trim.h"

#include <malloc.h>
#include <sys/resource.h>

#include "plugins/base/log.h"
#include "plugins/base/resident_trim.h"

namespace berth::server {
namespace {

// Below this much CPU per tick the daemon counts as idle (the tick itself costs microseconds).
constexpr int64_t kIdleCpuUs = 2000;

int64_t ProcessCpuMicros() {
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  auto micros = [](const timeval& t) { return int64_t{t.tv_sec} * 1000000 + t.tv_usec; };
  return micros(usage.ru_utime) + micros(usage.ru_stime);
}

}  // namespace

void IdleTrim::KeepFreedMemoryWhileBusy() {
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

bool IdleTrim::Tick() {
  int64_t cpu = ProcessCpuMicros();
  bool idle = last_cpu_us_ >= 0 && cpu - last_cpu_us_ < kIdleCpuUs;
  last_cpu_us_ = cpu;
  if (!idle) {
    trimmed_ = false;
    return false;
  }
  if (trimmed_) return false;
  trimmed_ = true;
  malloc_trim(0);
  size_t dropped = TrimCleanFileMappings(TrimScope::kAllFiles);
  BERTH_LOG(DEBUG) << "idle: trimmed the heap and " << (dropped >> 10) << " KiB of clean mappings";
  last_cpu_us_ = ProcessCpuMicros();  // the trim's own work is not activity
  return true;
}

}  // namespace berth::server
