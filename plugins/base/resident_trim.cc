#include "plugins/base/resident_trim.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

namespace berth {
namespace {

struct Range {
  uintptr_t start, end;
};

std::string SelfExe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// Read-only file mappings (of `exe` only, or of any file) with no anonymous (written) pages,
// from /proc/self/smaps.
std::vector<Range> CleanReadOnlyMappings(const std::string& exe, bool any_file) {
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
      candidate = perms[1] != 'w' && (any_file ? path[0] == '/' : exe == path);
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

size_t TrimCleanFileMappings(TrimScope scope) {
  static const std::string exe = SelfExe();
  size_t advised = 0;
  for (const Range& range : CleanReadOnlyMappings(exe, scope == TrimScope::kAllFiles)) {
    if (madvise(reinterpret_cast<void*>(range.start), range.end - range.start, MADV_DONTNEED) == 0) {
      advised += range.end - range.start;
    }
  }
  return advised;
}

}  // namespace berth
