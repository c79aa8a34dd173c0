// ApplyTar against hostile archives (one test per attack, each checking the host is
// untouched), plus what a well-formed layer must keep and how whiteouts land.

#include "services/diff/apply_tar.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugins/base/file_util.h"
#include "plugins/base/temp_dir.h"
#include "plugins/base/unique_fd.h"
#include "services/diff/applier.h"
#include "tests/diff/tar_builder.h"

namespace berth::diff {
namespace {

using testing::TarBuilder;
using ::testing::HasSubstr;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

ReadFn ReadString(const std::string& data) {
  return [&data, offset = size_t{0}](absl::Span<char> buf) mutable -> absl::StatusOr<size_t> {
    size_t n = std::min(buf.size(), data.size() - offset);
    memcpy(buf.data(), data.data() + offset, n);
    offset += n;
    return n;
  };
}

class ApplyTarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create("/tmp", "berth-apply-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_.emplace(*std::move(dir));
    root_ = dir_->path() + "/root";
    outside_ = dir_->path() + "/outside";
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir(outside_.c_str(), 0755), 0);
    std::ofstream(outside_ + "/keep") << "original";
  }

  absl::Status Apply(const std::string& blob, ApplyOptions options = {},
                     Compression compression = Compression::kNone) {
    UniqueFd fd(open(root_.c_str(), O_RDONLY | O_DIRECTORY));
    auto stream = LayerStream::Start(ReadString(blob), compression, options.max_bytes);
    absl::Status status = ApplyTar(*stream, fd.get(), options);
    if (!status.ok()) {
      stream->Cancel();
      return status;
    }
    return stream->Finish().status();
  }

  // The host outside the root is exactly as SetUp left it.
  void ExpectHostUntouched() {
    EXPECT_EQ(Slurp(outside_ + "/keep"), "original");
    struct stat st;
    ASSERT_EQ(stat((outside_ + "/keep").c_str(), &st), 0);
    EXPECT_EQ(st.st_nlink, 1u);
    int entries = 0;
    for (const char* name : {"pwned", "pwned2", "h"}) {
      entries += Exists(outside_ + "/" + name) ? 1 : 0;
    }
    EXPECT_EQ(entries, 0) << "something was written outside the root";
    EXPECT_FALSE(Exists(dir_->path() + "/pwned"));
  }

  std::optional<ScopedTempDir> dir_;
  std::string root_, outside_;
};

TEST_F(ApplyTarTest, DotDotNamesStayInside) {
  std::string blob = TarBuilder()
                         .File("../outside/pwned", "x")
                         .File("a/../../../outside/pwned2", "y")
                         .File("../../../../pwned", "z")
                         .Build();
  ASSERT_TRUE(Apply(blob).ok());
  EXPECT_EQ(Slurp(root_ + "/outside/pwned"), "x");
  EXPECT_EQ(Slurp(root_ + "/outside/pwned2"), "y");
  EXPECT_EQ(Slurp(root_ + "/pwned"), "z");
  ExpectHostUntouched();
}

TEST_F(ApplyTarTest, AbsoluteNamesStayInside) {
  std::string blob = TarBuilder().File(outside_ + "/pwned", "x").Build();
  ASSERT_TRUE(Apply(blob).ok());
  EXPECT_EQ(Slurp(root_ + outside_ + "/pwned"), "x");
  ExpectHostUntouched();
}

TEST_F(ApplyTarTest, WriteThroughEscapingSymlinkIsContainedOrRejected) {
  for (const std::string& target : {outside_, std::string("../outside"),
                                    std::string("../../../../../") + outside_}) {
    std::string blob = TarBuilder().Symlink("evil", target).File("evil/pwned", "x").Build();
    absl::Status status = Apply(blob);
    if (!status.ok()) {
      EXPECT_THAT(std::string(status.message()), HasSubstr("evil"));
    }
    ExpectHostUntouched();
    ASSERT_EQ(unlink((root_ + "/evil").c_str()), 0);
  }
}

TEST_F(ApplyTarTest, SymlinkResolvesInsideRoot) {
  // A planted absolute symlink to a directory that exists inside the root is followed there.
  std::string blob = TarBuilder()
                         .Dir("etc")
                         .Symlink("evil", "/etc")
                         .File("evil/pwned", "x")
                         .Build();
  ASSERT_TRUE(Apply(blob).ok());
  EXPECT_EQ(Slurp(root_ + "/etc/pwned"), "x");
  EXPECT_FALSE(Exists("/etc/pwned"));
}

TEST_F(ApplyTarTest, HardlinkToOutsideIsRejected) {
  for (const std::string& target :
       {std::string("../outside/keep"), outside_ + "/keep", std::string("/etc/passwd")}) {
    struct stat before;
    ASSERT_EQ(stat("/etc/passwd", &before), 0);
    absl::Status status = Apply(TarBuilder().Hardlink("h", target).Build());
    EXPECT_FALSE(status.ok()) << target;
    EXPECT_THAT(std::string(status.message()), HasSubstr("hardlink"));
    struct stat after;
    ASSERT_EQ(stat("/etc/passwd", &after), 0);
    EXPECT_EQ(before.st_nlink, after.st_nlink);
    EXPECT_FALSE(Exists(root_ + "/h"));
    ExpectHostUntouched();
  }
}

TEST_F(ApplyTarTest, HardlinkThroughEscapingSymlinkIsRejected) {
  std::string blob = TarBuilder().Symlink("evil", outside_).Hardlink("h", "evil/keep").Build();
  EXPECT_FALSE(Apply(blob).ok());
  ExpectHostUntouched();
}

TEST_F(ApplyTarTest, ExistingSymlinkIsReplacedNotFollowed) {
  std::string blob = TarBuilder()
                         .Symlink("f", outside_ + "/keep")
                         .File("f", "replaced")
                         .Symlink("d", outside_)
                         .Dir("d")
                         .File("d/pwned", "inside")
                         .Build();
  ASSERT_TRUE(Apply(blob).ok());
  struct stat st;
  ASSERT_EQ(lstat((root_ + "/f").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(Slurp(root_ + "/f"), "replaced");
  ASSERT_EQ(lstat((root_ + "/d").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(Slurp(root_ + "/d/pwned"), "inside");
  ExpectHostUntouched();
}

TEST_F(ApplyTarTest, DeviceNodesRefusedWhenNotAllowed) {
  std::string blob = TarBuilder().Device("dev/sda", S_IFBLK, 8, 0).Build();
  absl::Status status = Apply(blob, {.allow_devices = false});
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("dev/sda"));
  EXPECT_FALSE(Exists(root_ + "/dev/sda"));
}

TEST_F(ApplyTarTest, HugeNamesRejected) {
  std::string long_path;
  while (long_path.size() < 5000) long_path += "abcdefghij/";
  long_path += "f";
  absl::Status status = Apply(TarBuilder().File(long_path, "x").Build());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("PATH_MAX"));

  status = Apply(TarBuilder().File(std::string(300, 'n'), "x").Build());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("NAME_MAX"));
  ExpectHostUntouched();
}

TEST_F(ApplyTarTest, DecompressionBombRejected) {
  // 256 MiB of zeros compress to a few hundred KiB.
  std::string blob = TarBuilder().Zeros("bomb", 256 << 20).Build(Compression::kGzip);
  ASSERT_LT(blob.size(), 2u << 20);
  absl::Status status = Apply(blob, {.max_bytes = 16 << 20}, Compression::kGzip);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  struct stat st;
  if (stat((root_ + "/bomb").c_str(), &st) == 0) {
    EXPECT_LE(st.st_blocks * 512, 16 << 20);
  }
}

TEST_F(ApplyTarTest, BadWhiteoutNamesRejected) {
  EXPECT_FALSE(Apply(TarBuilder().File(".wh.", "").Build()).ok());
  EXPECT_FALSE(Apply(TarBuilder().File("a/.wh...", "").Build()).ok());
  ExpectHostUntouched();
}

TEST_F(ApplyTarTest, KeepsOwnersModesTimesXattrsLinksAndDevices) {
  std::string blob =
      TarBuilder()
          .Dir("d", {.mode = 01777, .uid = 7, .gid = 8})
          .File("d/suid", "bin", {.mode = 04755, .uid = 1234, .gid = 5678,
                                  .xattrs = {{"user.berth", "value"}}})
          .Hardlink("d/link", "d/suid")
          .Symlink("d/sym", "../somewhere/else")
          .Device("d/null", S_IFCHR, 1, 3)
          .Device("d/fifo", S_IFIFO, 0, 0)
          .Build();
  ASSERT_TRUE(Apply(blob).ok());
  struct stat st, link_st;
  ASSERT_EQ(lstat((root_ + "/d/suid").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1700000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  ASSERT_EQ(lstat((root_ + "/d/link").c_str(), &link_st), 0);
  EXPECT_EQ(st.st_ino, link_st.st_ino);
  char value[16] = {};
  ASSERT_EQ(getxattr((root_ + "/d/suid").c_str(), "user.berth", value, sizeof(value)), 5);
  EXPECT_STREQ(value, "value");
  char target[64] = {};
  ASSERT_GT(readlink((root_ + "/d/sym").c_str(), target, sizeof(target)), 0);
  EXPECT_STREQ(target, "../somewhere/else");
  ASSERT_EQ(lstat((root_ + "/d/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  ASSERT_EQ(lstat((root_ + "/d/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  ASSERT_EQ(lstat((root_ + "/d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
  EXPECT_EQ(st.st_uid, 7u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1700000000);  // set after its children were written
}

TEST_F(ApplyTarTest, WhiteoutsDeleteInMountedTree) {
  ASSERT_TRUE(Apply(TarBuilder()
                        .File("a/b", "1")
                        .File("c", "2")
                        .File("d/e", "3")
                        .File("d/f", "4")
                        .Build())
                  .ok());
  ASSERT_TRUE(Apply(TarBuilder()
                        .File(".wh.c", "")
                        .Dir("d")
                        .File("d/.wh..wh..opq", "")
                        .File("d/g", "5")
                        .File("a/.wh.missing", "")
                        .Build())
                  .ok());
  EXPECT_FALSE(Exists(root_ + "/c"));
  EXPECT_FALSE(Exists(root_ + "/d/e"));
  EXPECT_FALSE(Exists(root_ + "/d/f"));
  EXPECT_EQ(Slurp(root_ + "/d/g"), "5");
  EXPECT_EQ(Slurp(root_ + "/a/b"), "1");
  EXPECT_FALSE(Exists(root_ + "/.wh.c"));
}

TEST_F(ApplyTarTest, WhiteoutsBecomeOverlayMarkers) {
  ASSERT_TRUE(Apply(TarBuilder()
                        .File(".wh.c", "")
                        .Dir("d")
                        .File("d/.wh..wh..opq", "")
                        .File("d/g", "5")
                        .Build(),
                    {.whiteouts = WhiteoutMode::kOverlay})
                  .ok());
  struct stat st;
  ASSERT_EQ(lstat((root_ + "/c").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  char v[4] = {};
  ASSERT_EQ(getxattr((root_ + "/d").c_str(), "trusted.overlay.opaque", v, sizeof(v)), 1);
  EXPECT_EQ(v[0], 'y');
}

TEST_F(ApplyTarTest, CompressionsGiveTheSameDiffId) {
  TarBuilder builder;
  builder.File("a", std::string(100000, 'a')).Dir("b").File("b/c", "c");
  std::string plain = builder.Build();
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    std::string blob = builder.Build(c);
    ASSERT_TRUE(RemoveAll(root_).ok());
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
    auto applied = ApplyLayer({snapshotter::Mount{"bind", root_, "", {"rbind", "rw"}}},
                              LayerMediaType(c), testing::DigestOf(blob), ReadString(blob), {});
    ASSERT_TRUE(applied.ok()) << applied.status();
    EXPECT_EQ(applied->digest, testing::DigestOf(plain));
    EXPECT_EQ(applied->size, static_cast<int64_t>(plain.size()));
    EXPECT_EQ(Slurp(root_ + "/b/c"), "c");
  }
}

TEST_F(ApplyTarTest, CompressedDigestIsVerified) {
  std::string blob = TarBuilder().File("a", "a").Build(Compression::kGzip);
  auto applied = ApplyLayer({snapshotter::Mount{"bind", root_, "", {"rbind", "rw"}}},
                            "application/vnd.docker.image.rootfs.diff.tar.gzip",
                            testing::DigestOf("something else"), ReadString(blob), {});
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(applied.status().message()), HasSubstr("digest mismatch"));
}

TEST_F(ApplyTarTest, CorruptAndUnknownInputsFail) {
  std::string blob = TarBuilder().File("a", std::string(5000, 'a')).Build(Compression::kGzip);
  blob[blob.size() / 2] ^= 0x55;
  EXPECT_FALSE(Apply(blob, {}, Compression::kGzip).ok());
  EXPECT_FALSE(Apply("this is not a tar archive at all", {}).ok());
  EXPECT_EQ(CompressionOf("application/json").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::diff
