#include "services/diff/apply_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"
#include "services/diff/fs_at.h"
#include "services/diff/implied_dirs.h"

namespace berth::diff {
namespace {

constexpr absl::string_view kWhiteoutPrefix = ".wh.";
constexpr absl::string_view kWhiteoutMetaPrefix = ".wh..wh.";
constexpr absl::string_view kOpaqueMarker = ".wh..wh..opq";

// "a/b/../c" -> "a/c"; "../../x" and "/x" -> "x"; "" for the root itself. Rejects names that
// no filesystem here could hold.
absl::StatusOr<std::string> CleanName(absl::string_view name) {
  if (name.size() >= PATH_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("entry name of ", name.size(), " bytes exceeds PATH_MAX"));
  }
  std::vector<absl::string_view> parts;
  for (absl::string_view part : absl::StrSplit(name, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    if (part.size() > NAME_MAX) {
      return absl::InvalidArgumentError(
          absl::StrCat("entry name component of ", part.size(), " bytes exceeds NAME_MAX"));
    }
    parts.push_back(part);
  }
  return absl::StrJoin(parts, "/");
}

std::pair<std::string, std::string> SplitParent(const std::string& rel) {
  size_t slash = rel.rfind('/');
  if (slash == std::string::npos) return {"", rel};
  return {rel.substr(0, slash), rel.substr(slash + 1)};
}

struct DirTime {
  std::string rel;
  struct timespec times[2];
};

class Extractor {
 public:
  Extractor(int root_fd, const ApplyOptions& options) : root_fd_(root_fd), options_(options) {}

  absl::Status Entry(struct archive* a, struct archive_entry* entry, const std::string& rel);
  absl::Status Finish();

 private:
  // The directory `rel` (created with 0755 parents when missing), resolved inside the root.
  // Borrowed: valid until the next call.
  absl::StatusOr<int> ParentDir(const std::string& rel);
  absl::Status Whiteout(int parent_fd, const std::string& parent, const std::string& base);
  absl::Status Opaque(int parent_fd, const std::string& parent);
  absl::Status Create(struct archive* a, struct archive_entry* entry, int parent_fd,
                      const std::string& rel, const std::string& base);
  absl::Status WriteData(struct archive* a, struct archive_entry* entry, int fd);
  absl::Status SetAttributes(struct archive_entry* entry, int parent_fd, const std::string& base,
                             int fd);

  const int root_fd_;
  const ApplyOptions options_;
  const bool is_root_ = geteuid() == 0;
  std::string cached_rel_;
  UniqueFd cached_fd_;
  absl::flat_hash_set<std::string> unpacked_;
  // kOverlay: directories made only because an entry named something inside them.
  std::vector<std::string> implied_;
  std::vector<DirTime> dir_times_;
  int64_t bytes_ = 0;
};

absl::StatusOr<int> Extractor::ParentDir(const std::string& rel) {
  if (cached_fd_.valid() && cached_rel_ == rel) return cached_fd_.get();
  cached_fd_.Reset();
  absl::StatusOr<UniqueFd> fd = OpenInRoot(root_fd_, rel, O_RDONLY | O_DIRECTORY);
  if (!fd.ok() && absl::IsNotFound(fd.status())) {
    // Create the missing parents one by one, each resolved inside the root.
    std::string prefix;
    for (absl::string_view part : absl::StrSplit(rel, '/')) {
      std::string next = prefix.empty() ? std::string(part) : absl::StrCat(prefix, "/", part);
      ASSIGN_OR_RETURN(UniqueFd dir, OpenInRoot(root_fd_, prefix, O_RDONLY | O_DIRECTORY));
      if (mkdirat(dir.get(), std::string(part).c_str(), 0755) == 0) {
        if (options_.whiteouts == WhiteoutMode::kOverlay) implied_.push_back(next);
      } else if (errno != EEXIST) {
        return ErrnoError(errno, "mkdir", next);
      }
      prefix = std::move(next);
    }
    fd = OpenInRoot(root_fd_, rel, O_RDONLY | O_DIRECTORY);
  }
  if (!fd.ok()) return Annotate(fd.status(), absl::StrCat("open parent directory `", rel, "`"));
  cached_rel_ = rel;
  cached_fd_ = *std::move(fd);
  return cached_fd_.get();
}

absl::Status Extractor::Whiteout(int parent_fd, const std::string& parent,
                                 const std::string& base) {
  std::string target = base.substr(kWhiteoutPrefix.size());
  if (target.empty() || target == "." || target == "..") {
    return absl::InvalidArgumentError(absl::StrCat("invalid whiteout name `", base, "`"));
  }
  RETURN_IF_ERROR(RemoveAt(parent_fd, target));
  if (options_.whiteouts == WhiteoutMode::kDelete) return absl::OkStatus();
  if (mknodat(parent_fd, target.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) {
    return ErrnoError(errno, "mknod whiteout", target);
  }
  unpacked_.insert(parent.empty() ? target : absl::StrCat(parent, "/", target));
  return absl::OkStatus();
}

absl::Status Extractor::Opaque(int parent_fd, const std::string& parent) {
  if (options_.whiteouts == WhiteoutMode::kOverlay) {
    const char* name = options_.userxattr ? "user.overlay.opaque" : "trusted.overlay.opaque";
    if (fsetxattr(parent_fd, name, "y", 1, 0) != 0) {
      return ErrnoError(errno, "set opaque xattr on", parent.empty() ? "/" : parent);
    }
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirAt(parent_fd));
  for (const std::string& name : names) {
    std::string rel = parent.empty() ? name : absl::StrCat(parent, "/", name);
    if (!unpacked_.contains(rel)) RETURN_IF_ERROR(RemoveAt(parent_fd, name));
  }
  return absl::OkStatus();
}

absl::Status Extractor::WriteData(struct archive* a, struct archive_entry* entry, int fd) {
  const void* buf;
  size_t size;
  la_int64_t offset;
  while (true) {
    int rc = archive_read_data_block(a, &buf, &size, &offset);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      return absl::DataLossError(absl::StrCat("read data: ", archive_error_string(a)));
    }
    if (int error = PwriteFull(fd, buf, size, offset); error != 0) {
      return ErrnoError(error, "write");
    }
  }
  // Sparse files may end in a hole.
  if (ftruncate(fd, archive_entry_size(entry)) != 0) return ErrnoError(errno, "truncate");
  return absl::OkStatus();
}

absl::Status Extractor::SetAttributes(struct archive_entry* entry, int parent_fd,
                                      const std::string& base, int fd) {
  const mode_t type = archive_entry_filetype(entry);
  const bool is_link = type == AE_IFLNK;
  if (is_root_) {
    int rc = fd >= 0 ? fchown(fd, archive_entry_uid(entry), archive_entry_gid(entry))
                     : fchownat(parent_fd, base.c_str(), archive_entry_uid(entry),
                                archive_entry_gid(entry), AT_SYMLINK_NOFOLLOW);
    if (rc != 0) return ErrnoError(errno, "chown");
  }
  if (!is_link) {
    mode_t perm = archive_entry_perm(entry) & 07777;
    int rc = fd >= 0 ? fchmod(fd, perm) : fchmodat(parent_fd, base.c_str(), perm, 0);
    if (rc != 0) return ErrnoError(errno, "chmod");
  }
  const char* name;
  const void* value;
  size_t size;
  if (archive_entry_xattr_reset(entry) > 0) {
    std::string proc = absl::StrCat("/proc/self/fd/", parent_fd, "/", base);
    while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK) {
      int rc = fd >= 0 ? fsetxattr(fd, name, value, size, 0)
                       : lsetxattr(proc.c_str(), name, value, size, 0);
      if (rc != 0 && errno != ENOTSUP && errno != EPERM) {
        return ErrnoError(errno, absl::StrCat("set xattr ", name, " on"), base);
      }
    }
  }
  struct timespec times[2];
  times[0].tv_sec = archive_entry_atime_is_set(entry) ? archive_entry_atime(entry)
                                                      : archive_entry_mtime(entry);
  times[0].tv_nsec = archive_entry_atime_is_set(entry) ? archive_entry_atime_nsec(entry)
                                                       : archive_entry_mtime_nsec(entry);
  times[1].tv_sec = archive_entry_mtime(entry);
  times[1].tv_nsec = archive_entry_mtime_nsec(entry);
  if (type == AE_IFDIR) return absl::OkStatus();  // set in Finish, after the children
  int rc = fd >= 0 ? futimens(fd, times)
                   : utimensat(parent_fd, base.c_str(), times, AT_SYMLINK_NOFOLLOW);
  if (rc != 0) return ErrnoError(errno, "set times");
  return absl::OkStatus();
}

absl::Status Extractor::Create(struct archive* a, struct archive_entry* entry, int parent_fd,
                               const std::string& rel, const std::string& base) {
  const char* c_base = base.c_str();
  if (const char* link = archive_entry_hardlink(entry); link != nullptr) {
    ASSIGN_OR_RETURN(std::string source, CleanName(link));
    if (source.empty()) return absl::InvalidArgumentError("hardlink to the root directory");
    auto [source_parent, source_base] = SplitParent(source);
    absl::StatusOr<UniqueFd> sdir = OpenInRoot(root_fd_, source_parent, O_RDONLY | O_DIRECTORY);
    if (!sdir.ok()) {
      return Annotate(sdir.status(), absl::StrCat("hardlink target `", source, "` in the layer"));
    }
    if (linkat(sdir->get(), source_base.c_str(), parent_fd, c_base, 0) != 0) {
      return ErrnoError(errno, absl::StrCat("hardlink to `", source, "` as"), rel);
    }
    return absl::OkStatus();
  }
  const mode_t type = archive_entry_filetype(entry);
  switch (type) {
    case AE_IFREG: {
      if (options_.max_bytes > 0 && bytes_ + archive_entry_size(entry) > options_.max_bytes) {
        return absl::ResourceExhaustedError(
            absl::StrCat("layer writes more than ", options_.max_bytes, " bytes"));
      }
      bytes_ += archive_entry_size(entry);
      UniqueFd fd(openat(parent_fd, c_base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                         0600));
      if (!fd.valid()) return ErrnoError(errno, "create");
      RETURN_IF_ERROR(WriteData(a, entry, fd.get()));
      return SetAttributes(entry, parent_fd, base, fd.get());
    }
    case AE_IFDIR: {
      if (mkdirat(parent_fd, c_base, 0700) != 0 && errno != EEXIST) {
        return ErrnoError(errno, "mkdir");
      }
      UniqueFd fd(openat(parent_fd, c_base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd.valid()) return ErrnoError(errno, "open directory");
      RETURN_IF_ERROR(SetAttributes(entry, parent_fd, base, fd.get()));
      DirTime t{rel, {}};
      t.times[0] = {archive_entry_mtime(entry), archive_entry_mtime_nsec(entry)};
      if (archive_entry_atime_is_set(entry)) {
        t.times[0] = {archive_entry_atime(entry), archive_entry_atime_nsec(entry)};
      }
      t.times[1] = {archive_entry_mtime(entry), archive_entry_mtime_nsec(entry)};
      dir_times_.push_back(std::move(t));
      return absl::OkStatus();
    }
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(entry);
      if (target == nullptr) return absl::InvalidArgumentError("symlink without a target");
      if (symlinkat(target, parent_fd, c_base) != 0) return ErrnoError(errno, "symlink");
      return SetAttributes(entry, parent_fd, base, -1);
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: {
      if (type != AE_IFIFO && !options_.allow_devices) {
        return absl::PermissionDeniedError("device nodes are not allowed in this layer");
      }
      dev_t dev = makedev(archive_entry_rdevmajor(entry), archive_entry_rdevminor(entry));
      if (mknodat(parent_fd, c_base, type | 0600, dev) != 0) return ErrnoError(errno, "mknod");
      return SetAttributes(entry, parent_fd, base, -1);
    }
    default:
      return absl::OkStatus();  // sockets and unknown types are not extracted
  }
}

absl::Status Extractor::Entry(struct archive* a, struct archive_entry* entry,
                              const std::string& rel) {
  if (rel.empty()) return absl::OkStatus();  // the root keeps its own attributes
  auto [parent, base] = SplitParent(rel);
  ASSIGN_OR_RETURN(int parent_fd, ParentDir(parent));
  if (absl::StartsWith(base, kWhiteoutPrefix)) {
    if (base == kOpaqueMarker) return Opaque(parent_fd, parent);
    if (absl::StartsWith(base, kWhiteoutMetaPrefix)) return absl::OkStatus();  // aufs metadata
    return Whiteout(parent_fd, parent, base);
  }
  const bool is_dir = archive_entry_filetype(entry) == AE_IFDIR &&
                      archive_entry_hardlink(entry) == nullptr;
  struct stat st;
  if (fstatat(parent_fd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (const char* link = archive_entry_hardlink(entry); link != nullptr) {
      ASSIGN_OR_RETURN(std::string source, CleanName(link));
      if (source == rel) return absl::OkStatus();  // a link to itself
    }
    if (!(is_dir && S_ISDIR(st.st_mode))) {
      RETURN_IF_ERROR(RemoveAt(parent_fd, base));
    }
  } else if (errno != ENOENT) {
    return ErrnoError(errno, "stat");
  }
  RETURN_IF_ERROR(Create(a, entry, parent_fd, rel, base));
  if (options_.whiteouts == WhiteoutMode::kDelete) unpacked_.insert(rel);
  return absl::OkStatus();
}

absl::Status Extractor::Finish() {
  cached_fd_.Reset();
  for (auto it = dir_times_.rbegin(); it != dir_times_.rend(); ++it) {
    absl::StatusOr<UniqueFd> fd =
        OpenInRoot(root_fd_, it->rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!fd.ok()) continue;  // replaced or removed by a later entry
    if (futimens(fd->get(), it->times) != 0) return ErrnoError(errno, "set times", it->rel);
  }
  if (implied_.empty()) return absl::OkStatus();
  // A directory listed after its children is not implied.
  absl::flat_hash_set<std::string> listed;
  for (const DirTime& dir : dir_times_) listed.insert(dir.rel);
  std::erase_if(implied_, [&](const std::string& rel) { return listed.contains(rel); });
  RETURN_IF_ERROR(CopyImpliedDirInfo(root_fd_, implied_, options_.lowers));
  if (options_.implied_dirs != nullptr) *options_.implied_dirs = std::move(implied_);
  return absl::OkStatus();
}

struct ReadContext {
  LayerStream* stream;
  absl::Status status;
};

la_ssize_t ReadCallback(struct archive* a, void* opaque, const void** buffer) {
  auto* ctx = static_cast<ReadContext*>(opaque);
  absl::StatusOr<absl::string_view> chunk = ctx->stream->Next();
  if (!chunk.ok()) {
    ctx->status = chunk.status();
    archive_set_error(a, EIO, "%s", std::string(chunk.status().message()).c_str());
    return -1;
  }
  *buffer = chunk->data();
  return static_cast<la_ssize_t>(chunk->size());
}

}  // namespace

absl::Status ApplyTar(LayerStream& stream, int root_fd, const ApplyOptions& options) {
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(),
                                                               archive_read_free);
  archive_read_support_format_tar(a.get());
  ReadContext ctx{&stream, absl::OkStatus()};
  if (archive_read_open(a.get(), &ctx, nullptr, ReadCallback, nullptr) != ARCHIVE_OK) {
    if (!ctx.status.ok()) return ctx.status;
    return absl::InvalidArgumentError(
        absl::StrCat("apply layer: not a tar archive: ", archive_error_string(a.get())));
  }
  Extractor extractor(root_fd, options);
  struct archive_entry* entry;
  while (true) {
    int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      if (!ctx.status.ok()) return ctx.status;
      return absl::InvalidArgumentError(
          absl::StrCat("apply layer: bad tar header: ", archive_error_string(a.get())));
    }
    const char* name = archive_entry_pathname(entry);
    if (name == nullptr) name = archive_entry_pathname_utf8(entry);
    if (name == nullptr) return absl::InvalidArgumentError("apply layer: entry without a name");
    absl::StatusOr<std::string> rel = CleanName(name);
    absl::Status status = rel.ok() ? extractor.Entry(a.get(), entry, *rel) : rel.status();
    if (!status.ok()) {
      if (!ctx.status.ok()) return ctx.status;
      std::string shown(name, std::min<size_t>(strlen(name), 200));
      return Annotate(status, absl::StrCat("apply layer: entry `", shown, "`"));
    }
  }
  return extractor.Finish();
}

}  // namespace berth::diff
