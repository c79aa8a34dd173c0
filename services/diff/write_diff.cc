#include "services/diff/write_diff.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <memory>
#include <set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"
#include "services/diff/fs_at.h"
#include "snapshotter/mount_util.h"

namespace berth::diff {
namespace {

// Streaming compressor in front of the sink; hashes and counts what it emits.
class Compressor {
 public:
  Compressor(Compression compression, SinkFn sink) : compression_(compression), sink_(sink) {
    if (compression_ == Compression::kGzip) {
      isal_deflate_init(&gzip_);
      gzip_.gzip_flag = IGZIP_GZIP;
      gzip_.level = 1;
      level_buf_.resize(ISAL_DEF_LVL1_DEFAULT);
      gzip_.level_buf = reinterpret_cast<uint8_t*>(level_buf_.data());
      gzip_.level_buf_size = static_cast<uint32_t>(level_buf_.size());
    } else if (compression_ == Compression::kZstd) {
      zstd_ = ZSTD_createCCtx();
    }
    out_.resize(1 << 20);
  }
  ~Compressor() {
    if (zstd_ != nullptr) ZSTD_freeCCtx(zstd_);
  }

  absl::Status Write(absl::string_view data, bool end) {
    uncompressed_.Update(data);
    if (compression_ == Compression::kNone) return Emit(data);
    if (compression_ == Compression::kGzip) {
      gzip_.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(data.data()));
      gzip_.avail_in = static_cast<uint32_t>(data.size());
      gzip_.end_of_stream = end ? 1 : 0;
      gzip_.flush = NO_FLUSH;
      do {
        gzip_.next_out = reinterpret_cast<uint8_t*>(out_.data());
        gzip_.avail_out = static_cast<uint32_t>(out_.size());
        if (isal_deflate(&gzip_) != COMP_OK) return absl::InternalError("gzip: deflate failed");
        RETURN_IF_ERROR(Emit(absl::string_view(out_.data(), out_.size() - gzip_.avail_out)));
      } while (gzip_.avail_in > 0 || (end && gzip_.internal_state.state != ZSTATE_END));
      return absl::OkStatus();
    }
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    while (true) {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      size_t rc = ZSTD_compressStream2(zstd_, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
      if (ZSTD_isError(rc)) {
        return absl::InternalError(absl::StrCat("zstd: ", ZSTD_getErrorName(rc)));
      }
      RETURN_IF_ERROR(Emit(absl::string_view(out_.data(), out.pos)));
      if (end ? rc == 0 : in.pos == in.size) break;
    }
    return absl::OkStatus();
  }

  WrittenLayer Result() const {
    return WrittenLayer{compressed_.Sum(), compressed_.size(), uncompressed_.Sum()};
  }

 private:
  absl::Status Emit(absl::string_view data) {
    if (data.empty()) return absl::OkStatus();
    compressed_.Update(data);
    return sink_(data);
  }

  const Compression compression_;
  SinkFn sink_;
  isal_zstream gzip_;
  std::string level_buf_;
  ZSTD_CCtx* zstd_ = nullptr;
  std::string out_;
  content::Sha256 compressed_;
  content::Sha256 uncompressed_;
};

std::string Join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : absl::StrCat(dir, "/", name);
}

// Walks trees and writes PAX entries through libarchive.
class TarWriter {
 public:
  explicit TarWriter(SinkFn sink) : sink_(sink), a_(archive_write_new()) {
    archive_write_set_format_pax_restricted(a_);
    archive_write_set_bytes_in_last_block(a_, 1);
    archive_write_open(a_, this, nullptr, &TarWriter::WriteCallback, nullptr);
    resolver_ = archive_entry_linkresolver_new();
    archive_entry_linkresolver_set_strategy(resolver_, archive_format(a_));
  }
  ~TarWriter() {
    archive_entry_linkresolver_free(resolver_);
    archive_write_free(a_);
  }

  absl::Status Close() {
    if (archive_write_close(a_) != ARCHIVE_OK) return ArchiveError("close tar");
    return status_;
  }

  // Writes the entry `rel` of tree `root` (and, first, its parent directories).
  absl::Status Add(const std::string& root, const std::string& rel, bool overlay_upper);
  absl::Status AddWhiteout(const std::string& root, const std::string& rel_dir,
                           const std::string& name);
  absl::Status AddParents(const std::string& root, const std::string& rel);

 private:
  static la_ssize_t WriteCallback(struct archive*, void* opaque, const void* buf, size_t n) {
    auto* self = static_cast<TarWriter*>(opaque);
    self->status_ = self->sink_(absl::string_view(static_cast<const char*>(buf), n));
    return self->status_.ok() ? static_cast<la_ssize_t>(n) : -1;
  }
  absl::Status ArchiveError(absl::string_view what) {
    if (!status_.ok()) return status_;
    return absl::InternalError(absl::StrCat(what, ": ", archive_error_string(a_)));
  }
  absl::Status WriteEntry(struct archive_entry* entry, const std::string& path);

  SinkFn sink_;
  struct archive* a_;
  struct archive_entry_linkresolver* resolver_;
  absl::Status status_;
  std::set<std::string> written_dirs_;
};

absl::Status TarWriter::WriteEntry(struct archive_entry* entry, const std::string& path) {
  struct archive_entry* spare = nullptr;
  archive_entry_linkify(resolver_, &entry, &spare);
  if (entry == nullptr) return absl::OkStatus();
  if (archive_write_header(a_, entry) != ARCHIVE_OK) return ArchiveError("write tar header");
  if (archive_entry_filetype(entry) == AE_IFREG && archive_entry_size(entry) > 0) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return ErrnoError(errno, "open", path);
    std::string buf(1 << 20, '\0');
    while (true) {
      ssize_t n = read(fd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError(errno, "read", path);
      if (n == 0) break;
      if (archive_write_data(a_, buf.data(), static_cast<size_t>(n)) < 0) {
        return ArchiveError("write tar data");
      }
    }
  }
  if (spare != nullptr) archive_entry_free(spare);
  return absl::OkStatus();
}

absl::Status TarWriter::Add(const std::string& root, const std::string& rel,
                            bool overlay_upper) {
  RETURN_IF_ERROR(AddParents(root, rel));
  const std::string path = absl::StrCat(root, "/", rel);
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return ErrnoError(errno, "stat", path);
  if (S_ISDIR(st.st_mode)) {
    if (!written_dirs_.insert(rel).second) return absl::OkStatus();
  }
  std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)> entry(
      archive_entry_new(), archive_entry_free);
  archive_entry_copy_stat(entry.get(), &st);
  archive_entry_set_pathname(entry.get(), rel.c_str());
  archive_entry_set_atime(entry.get(), 0, 0);
  archive_entry_unset_atime(entry.get());
  archive_entry_unset_ctime(entry.get());
  if (S_ISLNK(st.st_mode)) {
    std::string target(PATH_MAX, '\0');
    ssize_t n = readlink(path.c_str(), target.data(), target.size());
    if (n < 0) return ErrnoError(errno, "readlink", path);
    target.resize(static_cast<size_t>(n));
    archive_entry_set_symlink(entry.get(), target.c_str());
  }
  char names[65536];
  ssize_t len = llistxattr(path.c_str(), names, sizeof(names));
  for (ssize_t i = 0; len > 0 && i < len; i += static_cast<ssize_t>(strlen(names + i)) + 1) {
    const char* name = names + i;
    if (overlay_upper && (absl::StartsWith(name, "trusted.overlay.") ||
                          absl::StartsWith(name, "user.overlay."))) {
      continue;
    }
    char value[65536];
    ssize_t vlen = lgetxattr(path.c_str(), name, value, sizeof(value));
    if (vlen >= 0) {
      archive_entry_xattr_add_entry(entry.get(), name, value, static_cast<size_t>(vlen));
    }
  }
  RETURN_IF_ERROR(WriteEntry(entry.get(), path));
  if (S_ISDIR(st.st_mode) && overlay_upper) {
    char v[4];
    ssize_t n = lgetxattr(path.c_str(), "trusted.overlay.opaque", v, sizeof(v));
    if (n < 0) n = lgetxattr(path.c_str(), "user.overlay.opaque", v, sizeof(v));
    if (n == 1 && v[0] == 'y') RETURN_IF_ERROR(AddWhiteout(root, rel, ".wh..opq"));
  }
  return absl::OkStatus();
}

absl::Status TarWriter::AddParents(const std::string& root, const std::string& rel) {
  size_t slash = rel.rfind('/');
  if (slash == std::string::npos) return absl::OkStatus();
  std::string parent = rel.substr(0, slash);
  if (written_dirs_.contains(parent)) return absl::OkStatus();
  return Add(root, parent, false);
}

absl::Status TarWriter::AddWhiteout(const std::string& root, const std::string& rel_dir,
                                    const std::string& name) {
  std::string rel = Join(rel_dir, absl::StrCat(".wh.", name));
  RETURN_IF_ERROR(AddParents(root, rel));
  std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)> entry(
      archive_entry_new(), archive_entry_free);
  archive_entry_set_pathname(entry.get(), rel.c_str());
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), 0);
  archive_entry_set_size(entry.get(), 0);
  if (archive_write_header(a_, entry.get()) != ARCHIVE_OK) return ArchiveError("write whiteout");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> SortedNames(const std::string& dir) {
  UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, "open", dir);
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirAt(fd.get()));
  std::sort(names.begin(), names.end());
  return names;
}

bool Changed(const struct stat& a, const struct stat& b, const std::string& pa,
             const std::string& pb) {
  if ((a.st_mode & S_IFMT) != (b.st_mode & S_IFMT) || a.st_mode != b.st_mode ||
      a.st_uid != b.st_uid || a.st_gid != b.st_gid || a.st_rdev != b.st_rdev) {
    return true;
  }
  if (S_ISDIR(a.st_mode)) return false;  // a directory's own changes are its children's
  if (a.st_size != b.st_size || a.st_mtim.tv_sec != b.st_mtim.tv_sec ||
      a.st_mtim.tv_nsec != b.st_mtim.tv_nsec) {
    return true;
  }
  if (S_ISLNK(a.st_mode)) {
    char ta[PATH_MAX], tb[PATH_MAX];
    ssize_t na = readlink(pa.c_str(), ta, sizeof(ta));
    ssize_t nb = readlink(pb.c_str(), tb, sizeof(tb));
    return na != nb || memcmp(ta, tb, static_cast<size_t>(std::max<ssize_t>(na, 0))) != 0;
  }
  return false;
}

// Overlay fast path: the upper dir is the diff.
absl::Status WalkUpper(TarWriter& tar, const std::string& upper, const std::string& rel) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, SortedNames(Join(upper, rel)));
  for (const std::string& name : names) {
    std::string child = Join(rel, name);
    std::string path = absl::StrCat(upper, "/", child);
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) return ErrnoError(errno, "stat", path);
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
      RETURN_IF_ERROR(tar.AddWhiteout(upper, rel, name));
      continue;
    }
    RETURN_IF_ERROR(tar.Add(upper, child, true));
    if (S_ISDIR(st.st_mode)) RETURN_IF_ERROR(WalkUpper(tar, upper, child));
  }
  return absl::OkStatus();
}

// Double walk: additions and changes from `upper`, deletions from `lower`.
absl::Status WalkCompare(TarWriter& tar, const std::string& lower, const std::string& upper,
                         const std::string& rel) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, SortedNames(Join(upper, rel)));
  for (const std::string& name : names) {
    std::string child = Join(rel, name);
    std::string up = absl::StrCat(upper, "/", child);
    struct stat su, sl;
    if (lstat(up.c_str(), &su) != 0) return ErrnoError(errno, "stat", up);
    std::string low = lower.empty() ? "" : absl::StrCat(lower, "/", child);
    bool in_lower = !lower.empty() && lstat(low.c_str(), &sl) == 0;
    if (!in_lower || Changed(su, sl, up, low)) RETURN_IF_ERROR(tar.Add(upper, child, false));
    if (S_ISDIR(su.st_mode)) {
      RETURN_IF_ERROR(WalkCompare(tar, in_lower && S_ISDIR(sl.st_mode) ? lower : "", upper, child));
    }
  }
  if (lower.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<std::string> lower_names, SortedNames(Join(lower, rel)));
  for (const std::string& name : lower_names) {
    struct stat st;
    std::string up = absl::StrCat(upper, "/", Join(rel, name));
    if (lstat(up.c_str(), &st) != 0 && errno == ENOENT) {
      RETURN_IF_ERROR(tar.AddWhiteout(upper, rel, name));
    }
  }
  return absl::OkStatus();
}

std::vector<snapshotter::Mount> ReadOnly(absl::Span<const snapshotter::Mount> mounts) {
  std::vector<snapshotter::Mount> out(mounts.begin(), mounts.end());
  for (snapshotter::Mount& m : out) {
    std::erase(m.options, "rw");
    if (std::find(m.options.begin(), m.options.end(), "ro") == m.options.end()) {
      m.options.push_back("ro");
    }
  }
  return out;
}

}  // namespace

absl::Status WriteDiffTar(const std::string& lower, const std::string& upper, bool overlay_upper,
                          SinkFn sink) {
  TarWriter tar(sink);
  RETURN_IF_ERROR(overlay_upper ? WalkUpper(tar, upper, "") : WalkCompare(tar, lower, upper, ""));
  return tar.Close();
}

absl::StatusOr<WrittenLayer> WriteLayer(absl::Span<const snapshotter::Mount> lower,
                                        absl::Span<const snapshotter::Mount> upper,
                                        Compression compression, SinkFn sink,
                                        const std::string& temp_mount_dir) {
  Compressor compressor(compression, sink);
  auto tar_sink = [&](absl::string_view data) { return compressor.Write(data, false); };
  if (upper.size() == 1 && upper[0].type == "overlay") {
    for (const std::string& option : upper[0].options) {
      if (absl::StartsWith(option, "upperdir=")) {
        RETURN_IF_ERROR(WriteDiffTar("", option.substr(strlen("upperdir=")), true, tar_sink));
        RETURN_IF_ERROR(compressor.Write("", true));
        return compressor.Result();
      }
    }
  }
  std::vector<snapshotter::Mount> lower_ro = ReadOnly(lower), upper_ro = ReadOnly(upper);
  RETURN_IF_ERROR(snapshotter::WithTempMount(
      upper_ro,
      [&](const std::string& upper_root) -> absl::Status {
        if (lower_ro.empty()) return WriteDiffTar("", upper_root, false, tar_sink);
        return snapshotter::WithTempMount(
            lower_ro,
            [&](const std::string& lower_root) {
              return WriteDiffTar(lower_root, upper_root, false, tar_sink);
            },
            temp_mount_dir);
      },
      temp_mount_dir));
  RETURN_IF_ERROR(compressor.Write("", true));
  return compressor.Result();
}

}  // namespace berth::diff
