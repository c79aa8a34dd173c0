#include "tests/diff/tree.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "snapshotter/mount_util.h"

namespace berth::diff::testing {
namespace {

void Walk(const std::string& dir, const std::string& rel, Tree& out) {
  DIR* d = opendir(dir.c_str());
  ASSERT_NE(d, nullptr) << dir;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = dir + "/" + name, r = rel.empty() ? name : rel + "/" + name;
    struct stat st;
    ASSERT_EQ(lstat(path.c_str(), &st), 0) << path;
    std::string desc = absl::StrCat(st.st_mode, " ", st.st_uid, " ", st.st_gid, " ");
    if (S_ISREG(st.st_mode)) {
      std::ifstream in(path);
      std::stringstream ss;
      ss << in.rdbuf();
      absl::StrAppend(&desc, ss.str());
    } else if (S_ISLNK(st.st_mode)) {
      char t[4096] = {};
      ASSERT_GE(readlink(path.c_str(), t, sizeof(t) - 1), 0) << path;
      absl::StrAppend(&desc, t);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      absl::StrAppend(&desc, "dev ", st.st_rdev);
    }
    out[r] = desc;
    if (S_ISDIR(st.st_mode)) Walk(path, r, out);
  }
  closedir(d);
}

}  // namespace

Tree TreeOf(const std::string& dir) {
  Tree out;
  Walk(dir, "", out);
  return out;
}

Tree MountedTree(const std::vector<snapshotter::Mount>& mounts) {
  Tree out;
  absl::Status s = snapshotter::WithTempMount(mounts, [&](const std::string& root) {
    out = TreeOf(root);
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

}  // namespace berth::diff::testing
