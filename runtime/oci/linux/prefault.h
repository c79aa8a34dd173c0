#pragma once

// The container's init is a fork of the runtime that never execs it again, so each page the
// init writes first takes a copy-on-write fault. In this kind of VM a fault costs ~15-25 us,
// and an init took ~70 of them before its first mount, about 1 ms of every Tasks.Create.
// Copying the runtime's resident writable pages in one madvise per range
// (MADV_POPULATE_WRITE) instead costs ~1 us a page; pages the parent never touched (trimmed
// heap, unused stack) are left out, since the child would only have to free them again at exec.

#include <cstdint>
#include <vector>

namespace berth::oci {

struct MemoryRange {
  uintptr_t begin = 0;
  uintptr_t end = 0;  // exclusive, page aligned like begin
};

// The resident pages of the calling process's private writable mappings (data, bss, heap,
// stack, anonymous mmaps), as runs of consecutive pages, from /proc/self/maps and mincore.
// Read by the parent just before the clone. Empty if /proc cannot be read: then nothing is
// prefaulted and nothing else changes.
std::vector<MemoryRange> ResidentWritableRanges();

// In the child right after the clone: takes its own copy of every page in `ranges` at once.
// Allocates nothing. A hint: on a kernel without MADV_POPULATE_WRITE (before 5.14), or for a
// range that went away, madvise fails and the pages fault in one at a time as before.
void CopyInAdvance(const std::vector<MemoryRange>& ranges);

}  // namespace berth::oci
