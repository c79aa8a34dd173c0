#include "services/diff/implied_dirs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"
#include "services/diff/fs_at.h"

namespace berth::diff {
namespace {

// The directory `rel` in the first of `lower_roots` that has the path; an invalid fd when none
// has it or the first that has it holds something else there.
absl::StatusOr<UniqueFd> LowerDir(const std::vector<UniqueFd>& lower_roots, const std::string& rel) {
  for (const UniqueFd& root : lower_roots) {
    absl::StatusOr<UniqueFd> dir = OpenInRoot(root.get(), rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (dir.ok()) return dir;
    if (absl::IsNotFound(dir.status())) continue;
    return UniqueFd();  // a file, symlink or whiteout device: replaced, copy nothing
  }
  return UniqueFd();
}

// Copies the xattrs of `from` onto `to`, except trusted.* (overlay's own markers).
absl::Status CopyXattrs(int from, int to) {
  std::vector<char> names(64 * 1024);
  ssize_t n = flistxattr(from, names.data(), names.size());
  if (n < 0) return errno == ENOTSUP ? absl::OkStatus() : ErrnoError(errno, "list xattrs");
  std::vector<char> value(64 * 1024);
  for (absl::string_view name : absl::StrSplit(absl::string_view(names.data(), n), '\0')) {
    if (name.empty() || absl::StartsWith(name, "trusted.")) continue;
    std::string key(name);
    ssize_t size = fgetxattr(from, key.c_str(), value.data(), value.size());
    if (size < 0) return ErrnoError(errno, "get xattr", key);
    if (fsetxattr(to, key.c_str(), value.data(), size, 0) != 0) {
      return ErrnoError(errno, "set xattr", key);
    }
  }
  return absl::OkStatus();
}

absl::Status CopyDirInfo(int from, int to) {
  struct stat st;
  if (fstat(from, &st) != 0) return ErrnoError(errno, "stat lower dir");
  if (fchown(to, st.st_uid, st.st_gid) != 0) return ErrnoError(errno, "chown");
  if (fchmod(to, st.st_mode & 07777) != 0) return ErrnoError(errno, "chmod");
  RETURN_IF_ERROR(CopyXattrs(from, to));
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (futimens(to, times) != 0) return ErrnoError(errno, "set times");
  return absl::OkStatus();
}

}  // namespace

absl::Status CopyImpliedDirInfo(int root_fd, absl::Span<const std::string> rels,
                                absl::Span<const std::string> lowers) {
  if (lowers.empty() || rels.empty()) return absl::OkStatus();
  std::vector<UniqueFd> lower_roots;
  for (const std::string& lower : lowers) {
    lower_roots.emplace_back(open(lower.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!lower_roots.back().valid()) return ErrnoError(errno, "open", lower);
  }
  for (const std::string& rel : rels) {
    absl::StatusOr<UniqueFd> dir = OpenInRoot(root_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!dir.ok()) continue;  // removed or replaced by a later entry of the layer
    ASSIGN_OR_RETURN(UniqueFd lower, LowerDir(lower_roots, rel));
    if (!lower.valid()) continue;
    if (absl::Status s = CopyDirInfo(lower.get(), dir->get()); !s.ok()) {
      return Annotate(s, absl::StrCat("implied directory `", rel, "`"));
    }
  }
  return absl::OkStatus();
}

}  // namespace berth::diff
