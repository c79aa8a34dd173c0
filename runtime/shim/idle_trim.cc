#include "runtime/shim/idle_trim.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace berth::shim {
namespace {

constexpr absl::Duration kIdleDelay = absl::Milliseconds(500);

struct Range {
  uintptr_t start, end;
};

std::string SelfExe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// Read-only mappings of `exe` with no anonymous (written) pages, from /proc/self/smaps.
std::vector<Range> CleanReadOnlyMappings(const std::string& exe) {
  std::vector<Range> out;
  FILE* smaps = fopen("/proc/self/smaps", "re");
  if (smaps == nullptr) return out;
  char line[4608];
  bool candidate = false;
  Range range{};
  while (fgets(line, sizeof(line), smaps) != nullptr) {
    unsigned long start, end;
    char perms[8], path[4096];
    path[0] = '\0';
    if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %4095s", &start, &end, perms, path) >= 3 &&
        strchr(line, '-') < strchr(line, ' ')) {
      candidate = perms[1] != 'w' && exe == path;
      range = {start, end};
      continue;
    }
    unsigned long kb;
    if (candidate && sscanf(line, "Anonymous: %lu kB", &kb) == 1) {
      if (kb == 0) out.push_back(range);
      candidate = false;
    }
  }
  fclose(smaps);
  return out;
}

}  // namespace

size_t TrimExecutablePages() {
  static const std::string exe = SelfExe();
  size_t advised = 0;
  for (const Range& range : CleanReadOnlyMappings(exe)) {
    if (madvise(reinterpret_cast<void*>(range.start), range.end - range.start, MADV_DONTNEED) == 0) {
      advised += range.end - range.start;
    }
  }
  return advised;
}

IdleTrimmer::~IdleTrimmer() {
  if (timer_ != 0) loop_->CancelTimer(timer_);
}

void IdleTrimmer::Touch() {
  if (timer_ != 0) loop_->CancelTimer(timer_);
  timer_ = loop_->AddTimer(kIdleDelay, [this] {
    timer_ = 0;
    TrimExecutablePages();
  });
}

}  // namespace berth::shim
