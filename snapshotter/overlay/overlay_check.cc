#include <dirent.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "plugins/base/file_util.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "snapshotter/overlay/overlay_internal.h"
#include "snapshotter/overlay/overlay_snapshotter.h"

namespace berth::snapshotter::overlay {
namespace {

absl::Status Unsupported(absl::string_view why) {
  return absl::UnimplementedError(absl::StrCat("overlayfs is not supported: ", why));
}

// Reports whether readdir on `dir` fills in d_type (xfs without ftype=1 does not, and
// overlayfs misbehaves on such filesystems). `dir` must contain a regular file.
absl::StatusOr<bool> SupportsDType(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return ErrnoError(errno, "opendir", dir);
  bool supported = false;
  while (struct dirent* entry = readdir(d)) {
    if (absl::string_view(entry->d_name) == "file") supported = entry->d_type == DT_REG;
  }
  closedir(d);
  return supported;
}

uint32_t Fnv1a(absl::string_view s) {
  uint32_t h = 2166136261u;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return h;
}

std::string Base36(uint32_t v, int digits) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out(digits, '0');
  for (int i = digits - 1; i >= 0; --i, v /= 36) out[i] = kDigits[v % 36];
  return out;
}

absl::StatusOr<std::string> ReadLink(const std::string& path) {
  char buf[4096];
  ssize_t n = readlink(path.c_str(), buf, sizeof(buf));
  if (n < 0) return ErrnoError(errno, "readlink", path);
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

absl::Status CheckOverlaySupported(const std::string& root) {
  std::string dir = JoinPath(root, "overlay-check-XXXXXX");
  if (mkdtemp(dir.data()) == nullptr) return ErrnoError(errno, "mkdtemp", dir);
  std::string merged = JoinPath(dir, "merged");
  absl::Cleanup remove = [&] {
    umount2(merged.c_str(), MNT_DETACH);
    (void)RemoveAll(dir);
  };
  for (const char* sub : {"lower1", "lower2", "upper", "work", "merged"}) {
    RETURN_IF_ERROR(MkdirAll(JoinPath(dir, sub)));
  }
  RETURN_IF_ERROR(WriteFileAtomic(JoinPath(dir, "lower1/file"), "x"));
  ASSIGN_OR_RETURN(bool dtype, SupportsDType(JoinPath(dir, "lower1")));
  if (!dtype) {
    return Unsupported(absl::StrCat("`", root, "` does not support d_type (xfs needs ftype=1)"));
  }
  std::string data = absl::StrCat("lowerdir=", dir, "/lower2:", dir, "/lower1,upperdir=", dir,
                                  "/upper,workdir=", dir, "/work");
  if (mount("overlay", merged.c_str(), "overlay", 0, data.c_str()) != 0) {
    return Unsupported(ErrnoError(errno, "test mount on", merged).message());
  }
  if (!PathExists(JoinPath(merged, "file"))) {
    return Unsupported("lower dir content is not visible through a test mount");
  }
  return absl::OkStatus();
}

namespace internal {

absl::StatusOr<std::string> EnsureShortLink(const std::string& link_dir,
                                            const std::string& target) {
  RETURN_IF_ERROR(MkdirAll(link_dir, 0755));
  int attempt = 0;
  for (int tries = 0; tries < 64 && attempt < 32; ++tries) {
    std::string seed = attempt == 0 ? target : absl::StrCat(target, "#", attempt);
    std::string link = JoinPath(link_dir, Base36(Fnv1a(seed) % (36u * 36 * 36 * 36), 4));
    absl::StatusOr<std::string> current = ReadLink(link);
    if (current.ok() && *current == target) return link;
    if (current.ok() && PathExists(*current)) {  // another live root owns this name
      ++attempt;
      continue;
    }
    if (!current.ok() && !absl::IsNotFound(current.status())) {
      ++attempt;  // not a symlink (e.g. a directory someone made): leave it alone
      continue;
    }
    // Stale (its root is gone) or absent. symlink(2) fails on an existing name, so of two
    // racing creators exactly one wins and the other re-reads the winner's link.
    if (current.ok() && unlink(link.c_str()) != 0 && errno != ENOENT) {
      return ErrnoError(errno, "unlink stale link", link);
    }
    if (symlink(target.c_str(), link.c_str()) == 0) return link;
    if (errno != EEXIST) return ErrnoError(errno, "symlink", link);
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("no free short link name under `", link_dir, "`"));
}

bool OverlayIndexOnByDefault() {
  absl::StatusOr<std::string> value = ReadFile("/sys/module/overlay/parameters/index");
  return value.ok() && absl::StartsWith(*value, "Y");
}

bool InUserNamespace() {
  absl::StatusOr<std::string> map = ReadFile("/proc/self/uid_map");
  if (!map.ok()) return false;
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(*map), ' ', absl::SkipEmpty());
  return !(fields.size() == 3 && fields[0] == "0" && fields[1] == "0" && fields[2] == "4294967295");
}

}  // namespace internal
}  // namespace berth::snapshotter::overlay
