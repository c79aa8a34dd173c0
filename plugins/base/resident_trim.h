#pragma once

// Giving back the resident pages an idle process does not need. A daemon or shim spends most
// of its life waiting, yet the code it ran once (start-up, registration, one request) stays
// mapped: with the kernel's fault-around every touched page maps its 64 KiB neighbourhood.
// TrimCleanFileMappings unmaps the clean pages of read-only file mappings (MADV_DONTNEED); they
// stay in the page cache, shared with every other process, and fault back in (a minor fault,
// no I/O) on the next use. Mappings holding written (copy-on-write) pages are never touched.
// Depends on nothing but libc, so the static shim can link it.

#include <cstddef>

namespace berth {

enum class TrimScope {
  kExecutable,  // only /proc/self/exe (a static binary: that is all the code)
  kAllFiles,    // every read-only file mapping: the executable and its shared libraries
};

// Returns the bytes advised.
size_t TrimCleanFileMappings(TrimScope scope);

}  // namespace berth
