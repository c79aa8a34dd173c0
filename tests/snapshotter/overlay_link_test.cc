// The overlay snapshotter's short link (snapshotter/mount.h): one stable name per root.

#include <unistd.h>

#include <optional>

#include "gtest/gtest.h"
#include "plugins/base/file_util.h"
#include "plugins/base/temp_dir.h"
#include "snapshotter/overlay/overlay_internal.h"

namespace berth::snapshotter::overlay::internal {
namespace {

class ShortLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create("/tmp", "shortlink-test-");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(*dir));
    links_ = dir_->path() + "/l";
    for (const char* root : {"/a", "/b"}) {
      ASSERT_TRUE(MkdirAll(dir_->path() + root + "/snapshots").ok());
    }
  }
  std::string Target(const char* root) { return dir_->path() + root + "/snapshots"; }
  std::string ReadLink(const std::string& link) {
    char buf[4096];
    ssize_t n = readlink(link.c_str(), buf, sizeof(buf));
    return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
  }

  std::optional<ScopedTempDir> dir_;
  std::string links_;
};

TEST_F(ShortLinkTest, StableShortAndPointingAtTheRoot) {
  auto link = EnsureShortLink(links_, Target("/a"));
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_EQ(link->size(), links_.size() + 5) << "a 4-character name";
  EXPECT_EQ(ReadLink(*link), Target("/a"));
  auto again = EnsureShortLink(links_, Target("/a"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *link) << "the same root gets the same link after a restart";
  auto other = EnsureShortLink(links_, Target("/b"));
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*other, *link);
}

TEST_F(ShortLinkTest, LiveCollisionProbesAndStaleLinkIsReplaced) {
  auto link = EnsureShortLink(links_, Target("/a"));
  ASSERT_TRUE(link.ok());
  // Someone else's live root holds /a's name: /a must get another one.
  ASSERT_EQ(unlink(link->c_str()), 0);
  ASSERT_EQ(symlink(Target("/b").c_str(), link->c_str()), 0);
  auto probed = EnsureShortLink(links_, Target("/a"));
  ASSERT_TRUE(probed.ok());
  EXPECT_NE(*probed, *link);
  EXPECT_EQ(ReadLink(*link), Target("/b")) << "a live link is never taken over";
  // A link whose root is gone is reused.
  ASSERT_EQ(unlink(probed->c_str()), 0);
  ASSERT_EQ(symlink("/nonexistent/berth/root", probed->c_str()), 0);
  auto replaced = EnsureShortLink(links_, Target("/a"));
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(ReadLink(*replaced), Target("/a"));
}

}  // namespace
}  // namespace berth::snapshotter::overlay::internal
