#include "content/digest.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"
#include "plugins/base/file_util.h"
#include "plugins/base/temp_dir.h"
#include "plugins/base/unique_fd.h"

namespace berth::content {
namespace {

constexpr char kEmpty[] = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kAbc[] = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(DigestTest, ParseValid) {
  absl::StatusOr<Digest> d = Digest::Parse(kAbc);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->algorithm(), "sha256");
  EXPECT_EQ(d->hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(d->string(), kAbc);
  EXPECT_FALSE(d->empty());
}

TEST(DigestTest, ParseInvalid) {
  for (const char* bad : {
           "",
           "sha256",
           "sha256:",
           ":ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
           "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
           "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
           "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015add",
           "sha256:ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
           "sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
           "md5:d41d8cd98f00b204e9800998ecf8427e",
       }) {
    absl::StatusOr<Digest> d = Digest::Parse(bad);
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_FALSE(Digest::Validate(bad).ok()) << bad;
  }
}

TEST(DigestTest, EmptyDigest) {
  Digest d;
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.algorithm(), "");
  EXPECT_EQ(d.hex(), "");
  EXPECT_EQ(d, Digest());
}

TEST(DigestTest, FromBytesKnownVectors) {
  EXPECT_EQ(Digest::FromBytes("").string(), kEmpty);
  EXPECT_EQ(Digest::FromBytes("abc").string(), kAbc);
}

TEST(DigestTest, ComparableAndHashable) {
  absl::flat_hash_set<Digest> set = {Digest::FromBytes("a"), Digest::FromBytes("b"),
                                     Digest::FromBytes("a")};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_NE(Digest::FromBytes("a"), Digest::FromBytes("b"));
}

TEST(Sha256Test, StreamingMatchesOneShot) {
  std::string data;
  for (int i = 0; i < 100000; ++i) {
    data.push_back(static_cast<char>(i * 31));
  }
  Sha256 h;
  for (size_t i = 0; i < data.size(); i += 777) {
    h.Update(absl::string_view(data).substr(i, 777));
    // Sum does not end the stream.
    EXPECT_EQ(h.Sum(), Digest::FromBytes(absl::string_view(data).substr(0, i + 777)));
  }
  EXPECT_EQ(h.size(), static_cast<int64_t>(data.size()));
  h.Reset();
  EXPECT_EQ(h.size(), 0);
  EXPECT_EQ(h.Sum().string(), kEmpty);
}

TEST(Sha256Test, Move) {
  Sha256 a;
  a.Update("ab");
  Sha256 b = std::move(a);
  b.Update("c");
  EXPECT_EQ(b.Sum().string(), kAbc);
  Sha256 c;
  c = std::move(b);
  EXPECT_EQ(c.Sum().string(), kAbc);
}

TEST(Sha256Test, HashFdResumes) {
  auto dir = ScopedTempDir::Create(::testing::TempDir(), "digest-");
  ASSERT_TRUE(dir.ok());
  std::string path = JoinPath(dir->path(), "f");
  std::string data(3 << 20, 'x');
  data += "tail";
  ASSERT_TRUE(WriteFileAtomic(path, data).ok());
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());

  Sha256 all;
  absl::StatusOr<int64_t> n = HashFd(fd.get(), -1, all);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, static_cast<int64_t>(data.size()));
  EXPECT_EQ(all.Sum(), Digest::FromBytes(data));

  Sha256 prefix;
  ASSERT_TRUE(HashFd(fd.get(), 10, prefix).ok());
  prefix.Update(absl::string_view(data).substr(10));  // continue from where the file left off
  EXPECT_EQ(prefix.Sum(), Digest::FromBytes(data));

  Sha256 too_long;
  EXPECT_EQ(HashFd(fd.get(), data.size() + 1, too_long).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace berth::content
