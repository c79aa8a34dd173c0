#include "runtime/oci/linux/prefault.h"

#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "plugins/base/file_util.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace berth::oci {
namespace {

constexpr uintptr_t kPage = 4096;

// "begin-end perms offset dev inode [path]": a private ("p") writable mapping's bounds.
bool ParsePrivateWritable(absl::string_view line, MemoryRange* range) {
  std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
  if (fields.size() < 5) return false;
  absl::string_view perms = fields[1];
  if (perms.size() < 4 || perms[1] != 'w' || perms[3] != 'p') return false;
  std::vector<absl::string_view> bounds = absl::StrSplit(fields[0], '-');
  uint64_t begin = 0, end = 0;
  if (bounds.size() != 2 || !absl::SimpleHexAtoi(bounds[0], &begin) ||
      !absl::SimpleHexAtoi(bounds[1], &end) || end <= begin) {
    return false;
  }
  *range = MemoryRange{static_cast<uintptr_t>(begin), static_cast<uintptr_t>(end)};
  return true;
}

// Appends the runs of resident pages of `mapping` to `out`.
void AppendResidentRuns(const MemoryRange& mapping, std::vector<MemoryRange>* out) {
  size_t pages = (mapping.end - mapping.begin) / kPage;
  std::vector<unsigned char> resident(pages);
  if (mincore(reinterpret_cast<void*>(mapping.begin), mapping.end - mapping.begin,
              resident.data()) != 0) {
    return;
  }
  for (size_t i = 0; i < pages;) {
    if ((resident[i] & 1) == 0) {
      ++i;
      continue;
    }
    size_t run_end = i;
    while (run_end < pages && (resident[run_end] & 1) != 0) ++run_end;
    out->push_back({mapping.begin + i * kPage, mapping.begin + run_end * kPage});
    i = run_end;
  }
}

}  // namespace

std::vector<MemoryRange> ResidentWritableRanges() {
  std::vector<MemoryRange> ranges;
  absl::StatusOr<std::string> maps = ReadFile("/proc/self/maps");
  if (!maps.ok()) return ranges;
  for (absl::string_view line : absl::StrSplit(*maps, '\n', absl::SkipEmpty())) {
    MemoryRange mapping;
    if (ParsePrivateWritable(line, &mapping)) AppendResidentRuns(mapping, &ranges);
  }
  return ranges;
}

void CopyInAdvance(const std::vector<MemoryRange>& ranges) {
  for (const MemoryRange& r : ranges) {
    madvise(reinterpret_cast<void*>(r.begin), r.end - r.begin, MADV_POPULATE_WRITE);
  }
}

}  // namespace berth::oci
