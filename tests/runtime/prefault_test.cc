// The init's copy-on-write prefault (runtime/oci/linux/prefault.h): the ranges hold the pages
// the process has touched and none it has not, and a forked child that copies them in advance
// writes to them without a page fault each.

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/oci/linux/prefault.h"

namespace berth::oci {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kPages = 64;

bool Covers(const std::vector<MemoryRange>& ranges, const void* p) {
  auto a = reinterpret_cast<uintptr_t>(p);
  for (const MemoryRange& r : ranges) {
    if (a >= r.begin && a < r.end) return true;
  }
  return false;
}

// An anonymous private mapping of kPages, unmapped on destruction.
struct Mapping {
  Mapping() : bytes(static_cast<char*>(mmap(nullptr, kPages * kPage, PROT_READ | PROT_WRITE,
                                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))) {}
  ~Mapping() { munmap(bytes, kPages * kPage); }
  void Touch() const {
    for (size_t i = 0; i < kPages; ++i) bytes[i * kPage] = 1;
  }
  char* bytes;
};

long MinorFaults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// Forks; the child writes to every page of `m` (after CopyInAdvance if `prefault`) and exits
// with the number of minor faults those writes took (capped at 255).
int ChildFaultsWritingPages(const Mapping& m, bool prefault) {
  std::vector<MemoryRange> ranges = ResidentWritableRanges();
  pid_t pid = fork();
  if (pid == 0) {
    if (prefault) CopyInAdvance(ranges);
    long before = MinorFaults();
    for (size_t i = 0; i < kPages; ++i) m.bytes[i * kPage] = 2;
    long faults = MinorFaults() - before;
    _exit(faults > 255 ? 255 : static_cast<int>(faults));
  }
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

TEST(PrefaultTest, RangesHoldTouchedWritablePagesOnly) {
  Mapping touched, untouched;
  ASSERT_NE(touched.bytes, MAP_FAILED);
  ASSERT_NE(untouched.bytes, MAP_FAILED);
  touched.Touch();
  std::vector<char> heap(8 * kPage, 1);
  int on_stack = 0;
  char* read_only = static_cast<char*>(
      mmap(nullptr, kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(read_only, MAP_FAILED);
  volatile char c = read_only[0];  // resident (the zero page), but not writable
  (void)c;

  std::vector<MemoryRange> ranges = ResidentWritableRanges();
  for (size_t i = 0; i < kPages; ++i) {
    EXPECT_TRUE(Covers(ranges, touched.bytes + i * kPage)) << "touched page " << i;
    EXPECT_FALSE(Covers(ranges, untouched.bytes + i * kPage)) << "untouched page " << i;
  }
  EXPECT_TRUE(Covers(ranges, heap.data() + 4 * kPage));
  EXPECT_TRUE(Covers(ranges, &on_stack));
  EXPECT_FALSE(Covers(ranges, read_only));
  for (const MemoryRange& r : ranges) {
    EXPECT_LT(r.begin, r.end);
    EXPECT_EQ(r.begin % kPage, 0u);
    EXPECT_EQ(r.end % kPage, 0u);
  }
  munmap(read_only, kPage);
}

TEST(PrefaultTest, AForkedChildWritesCopiedPagesWithoutFaults) {
  Mapping m;
  ASSERT_NE(m.bytes, MAP_FAILED);
  m.Touch();
  // Without the copy in advance every page is a copy-on-write fault in the child; with it,
  // none is (a few allowance for the child's own stack and libc).
  EXPECT_GE(ChildFaultsWritingPages(m, /*prefault=*/false), static_cast<int>(kPages));
  EXPECT_LE(ChildFaultsWritingPages(m, /*prefault=*/true), 4);
}

}  // namespace
}  // namespace berth::oci
