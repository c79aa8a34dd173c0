// Compiled seccomp programs and their on-disk cache (runtime/oci/linux/seccomp_cache.h):
// a hit returns what was stored, and anything that is not exactly this profile's entry in a
// directory only the caller can write is a miss that compiles afresh.

#include <dirent.h>
#include <errno.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "plugins/base/file_util.h"
#include "plugins/base/temp_dir.h"
#include "runtime/oci/linux/seccomp_cache.h"
#include "runtime/oci/linux/security.h"

namespace berth::oci {
namespace {

// mkdir and mkdirat fail with `errno_ret`; everything else is allowed.
Seccomp DenyMkdir(uint32_t errno_ret) {
  Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"};
  SeccompSyscall sc;
  sc.names = {"mkdir", "mkdirat"};
  sc.action = "SCMP_ACT_ERRNO";
  sc.errno_ret = errno_ret;
  s.syscalls.push_back(sc);
  return s;
}

bool SameCode(const SeccompProgram& a, const SeccompProgram& b) {
  return a.flags == b.flags && a.code.size() == b.code.size() &&
         memcmp(a.code.data(), b.code.data(), a.code.size() * sizeof(sock_filter)) == 0;
}

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') names.push_back(JoinPath(dir, e->d_name));
  }
  closedir(d);
  return names;
}

// What mkdir fails with in a child that loaded `program` (0: it succeeded).
int MkdirErrnoUnder(const SeccompProgram& program, const std::string& dir) {
  pid_t pid = fork();
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || !LoadSeccomp(program).ok()) _exit(255);
    _exit(mkdir(JoinPath(dir, "made").c_str(), 0755) == 0 ? 0 : errno);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class SeccompCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<ScopedTempDir> dir = ScopedTempDir::Create("/tmp", "seccomp-cache-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    tmp_ = std::make_unique<ScopedTempDir>(std::move(*dir));
    cache_ = JoinPath(tmp_->path(), ".seccomp");
    absl::StatusOr<SeccompProgram> a = CompileSeccomp(DenyMkdir(38), "");
    absl::StatusOr<SeccompProgram> b = CompileSeccomp(DenyMkdir(39), "");
    ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
    enosys_ = *a;
    other_ = *b;
    ASSERT_FALSE(SameCode(enosys_, other_));  // the errno is in the code
  }

  std::unique_ptr<ScopedTempDir> tmp_;
  std::string cache_;
  SeccompProgram enosys_, other_;
};

TEST_F(SeccompCacheTest, CompiledProgramIsStoredAndLoads) {
  absl::StatusOr<SeccompProgram> first = CompileSeccomp(DenyMkdir(38), cache_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(SameCode(*first, enosys_));
  ASSERT_EQ(Files(cache_).size(), 1u);
  struct stat st;
  ASSERT_EQ(stat(cache_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  absl::StatusOr<SeccompProgram> again = CompileSeccomp(DenyMkdir(38), cache_);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(SameCode(*again, enosys_));
  EXPECT_EQ(MkdirErrnoUnder(*again, tmp_->path()), 38);
  EXPECT_EQ(MkdirErrnoUnder(other_, tmp_->path()), 39);
}

TEST_F(SeccompCacheTest, AHitReturnsTheStoredProgram) {
  // Whatever is stored under a profile's key is what the next compile of it returns: the
  // proof that a hit skips libseccomp (and the reason the directory must be private).
  StoreCachedSeccomp(cache_, SeccompCacheKey(DenyMkdir(38)), other_);
  absl::StatusOr<SeccompProgram> got = CompileSeccomp(DenyMkdir(38), cache_);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(SameCode(*got, other_));
}

TEST_F(SeccompCacheTest, AnotherProfilesEntryUnderThisNameIsAMiss) {
  StoreCachedSeccomp(cache_, SeccompCacheKey(DenyMkdir(38)), enosys_);
  ASSERT_EQ(Files(cache_).size(), 1u);
  std::string name = Files(cache_)[0];
  ASSERT_EQ(unlink(name.c_str()), 0);
  StoreCachedSeccomp(cache_, SeccompCacheKey(DenyMkdir(39)), other_);
  ASSERT_EQ(Files(cache_).size(), 1u);
  // The 39 profile's file under the 38 profile's name, as a hash collision would leave it.
  ASSERT_EQ(rename(Files(cache_)[0].c_str(), name.c_str()), 0);

  absl::StatusOr<SeccompProgram> got = CompileSeccomp(DenyMkdir(38), cache_);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(SameCode(*got, enosys_));
  // ... and the entry now holds the right program.
  std::optional<SeccompProgram> stored = ReadCachedSeccomp(cache_, SeccompCacheKey(DenyMkdir(38)));
  ASSERT_TRUE(stored.has_value());
  EXPECT_TRUE(SameCode(*stored, enosys_));
}

TEST_F(SeccompCacheTest, DamagedEntriesAreMissesAndGetRewritten) {
  std::string key = SeccompCacheKey(DenyMkdir(38));
  StoreCachedSeccomp(cache_, key, other_);
  std::string name = Files(cache_)[0];
  absl::StatusOr<std::string> whole = ReadFile(name);
  ASSERT_TRUE(whole.ok());
  const std::vector<std::string> damaged = {
      "", "BERTHBPF", whole->substr(0, whole->size() - 3), *whole + "x",
      "XERTHBPF" + whole->substr(8)};
  for (const std::string& content : damaged) {
    ASSERT_TRUE(WriteFileReplace(name, content, 0600).ok());
    EXPECT_FALSE(ReadCachedSeccomp(cache_, key).has_value()) << content.size();
    absl::StatusOr<SeccompProgram> got = CompileSeccomp(DenyMkdir(38), cache_);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_TRUE(SameCode(*got, enosys_)) << content.size();
    std::optional<SeccompProgram> stored = ReadCachedSeccomp(cache_, key);
    ASSERT_TRUE(stored.has_value());
    EXPECT_TRUE(SameCode(*stored, enosys_));
  }
}

TEST_F(SeccompCacheTest, ADirectoryOthersCanWriteIsNotUsed) {
  StoreCachedSeccomp(cache_, SeccompCacheKey(DenyMkdir(38)), other_);
  ASSERT_EQ(chmod(cache_.c_str(), 0777), 0);
  absl::StatusOr<SeccompProgram> got = CompileSeccomp(DenyMkdir(38), cache_);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(SameCode(*got, enosys_));
  EXPECT_FALSE(ReadCachedSeccomp(cache_, SeccompCacheKey(DenyMkdir(38))).has_value());
}

TEST_F(SeccompCacheTest, KeysDifferForEveryField) {
  Seccomp base = DenyMkdir(38);
  std::vector<Seccomp> variants(8, base);
  variants[0].default_action = "SCMP_ACT_LOG";
  variants[1].default_errno_ret = 1;
  variants[2].architectures.pop_back();
  variants[3].flags = {"SECCOMP_FILTER_FLAG_LOG"};
  variants[4].syscalls[0].names = {"mkdir"};
  variants[5].syscalls[0].action = "SCMP_ACT_KILL";
  variants[6].syscalls[0].args = {{.index = 1, .value = 2, .value_two = 0, .op = "SCMP_CMP_EQ"}};
  // Moving a name across a field boundary must change the key too.
  variants[7].syscalls[0].names = {"mkdirmkdirat"};
  std::string key = SeccompCacheKey(base);
  for (size_t i = 0; i < variants.size(); ++i) {
    EXPECT_NE(SeccompCacheKey(variants[i]), key) << i;
  }
}

TEST_F(SeccompCacheTest, ABadProfileFailsAndStoresNothing) {
  Seccomp bad = DenyMkdir(38);
  bad.syscalls[0].action = "SCMP_ACT_BOGUS";
  absl::StatusOr<SeccompProgram> got = CompileSeccomp(bad, cache_);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(got.status().message().find("SCMP_ACT_BOGUS"), std::string::npos);
  EXPECT_TRUE(Files(cache_).empty());
}

}  // namespace
}  // namespace berth::oci
