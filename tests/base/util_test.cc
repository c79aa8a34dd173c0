// Tests of the small plugins/base utilities: status_util, file_util, temp_dir.

#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_util.h"
#include "plugins/base/temp_dir.h"

namespace berth {
namespace {

using ::testing::HasSubstr;

TEST(StatusUtilTest, ErrdefsSuffixes) {
  EXPECT_EQ(NotFound("image `x`").message(), "image `x`: not found");
  EXPECT_EQ(NotFound("x").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(AlreadyExists("x").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(InvalidArgument("bad").message(), "bad: invalid argument");
  EXPECT_EQ(FailedPrecondition("x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Unavailable("x").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Unimplemented("x").message(), "x: not implemented");
}

TEST(StatusUtilTest, AnnotateKeepsCodeAndOk) {
  EXPECT_TRUE(Annotate(absl::OkStatus(), "ctx").ok());
  absl::Status s = Annotate(NotFound("x"), "get");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "get: x: not found");
}

TEST(StatusUtilTest, ErrnoError) {
  absl::Status s = ErrnoError(ENOENT, "open", "/nope");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("open `/nope`"));
  EXPECT_EQ(ErrnoError(EEXIST, "mkdir").code(), absl::StatusCode::kAlreadyExists);
}

class FileUtilTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<ScopedTempDir> dir = ScopedTempDir::Create("/tmp", "berth-base-test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_.emplace(*std::move(dir));
  }
  std::string Path(const std::string& name) { return JoinPath(dir_->path(), name); }
  std::optional<ScopedTempDir> dir_;
};

TEST_F(FileUtilTest, WriteAtomicThenRead) {
  const std::string path = Path("f");
  ASSERT_TRUE(WriteFileAtomic(path, "one", 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(path, "two").ok());
  absl::StatusOr<std::string> data = ReadFile(path);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(*data, "two");
  EXPECT_EQ(ReadFile(Path("missing")).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FileUtilTest, MkdirAllAndRemoveAll) {
  const std::string deep = Path("a/b/c");
  ASSERT_TRUE(MkdirAll(deep).ok());
  ASSERT_TRUE(MkdirAll(deep).ok());  // idempotent
  EXPECT_TRUE(PathExists(deep));
  ASSERT_TRUE(WriteFileAtomic(JoinPath(deep, "f"), "x").ok());
  // A symlink to outside content must be removed, not followed.
  const std::string outside = Path("outside");
  ASSERT_TRUE(WriteFileAtomic(outside, "keep").ok());
  ASSERT_EQ(symlink(outside.c_str(), Path("a/b/link").c_str()), 0);
  ASSERT_TRUE(RemoveAll(Path("a")).ok());
  EXPECT_FALSE(PathExists(Path("a")));
  EXPECT_TRUE(PathExists(outside));
  EXPECT_TRUE(RemoveAll(Path("a")).ok());  // missing is OK
}

TEST(TempDirTest, RemovedUnlessReleased) {
  std::string removed, kept;
  {
    absl::StatusOr<ScopedTempDir> dir = ScopedTempDir::Create("/tmp", "berth-base-test-");
    ASSERT_TRUE(dir.ok());
    removed = dir->path();
    ASSERT_TRUE(WriteFileAtomic(JoinPath(removed, "f"), "x").ok());
    ScopedTempDir moved = *std::move(dir);
    EXPECT_EQ(moved.path(), removed);
  }
  EXPECT_FALSE(PathExists(removed));
  {
    absl::StatusOr<ScopedTempDir> dir = ScopedTempDir::Create("/tmp", "berth-base-test-");
    ASSERT_TRUE(dir.ok());
    kept = dir->Release();
  }
  EXPECT_TRUE(PathExists(kept));
  EXPECT_TRUE(RemoveAll(kept).ok());
}

TEST(JoinPathTest, SingleSlashes) {
  EXPECT_EQ(JoinPath("/a/", "/b"), "/a/b");
  EXPECT_EQ(JoinPath("/a", "b"), "/a/b");
}

}  // namespace
}  // namespace berth
