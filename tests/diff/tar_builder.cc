#include "tests/diff/tar_builder.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <memory>

namespace berth::diff::testing {

TarBuilder& TarBuilder::File(const std::string& name, const std::string& data, Attrs attrs) {
  entries_.push_back({.name = name, .type = S_IFREG, .data = data, .attrs = attrs});
  return *this;
}
TarBuilder& TarBuilder::Dir(const std::string& name, Attrs attrs) {
  entries_.push_back({.name = name, .type = S_IFDIR, .attrs = attrs});
  return *this;
}
TarBuilder& TarBuilder::Symlink(const std::string& name, const std::string& target) {
  entries_.push_back({.name = name, .type = S_IFLNK, .link = target, .attrs = {.mode = 0777}});
  return *this;
}
TarBuilder& TarBuilder::Hardlink(const std::string& name, const std::string& target) {
  entries_.push_back({.name = name, .type = S_IFREG, .link = target, .hardlink = true});
  return *this;
}
TarBuilder& TarBuilder::Device(const std::string& name, mode_t type, int major, int minor) {
  entries_.push_back({.name = name, .type = type, .major = major, .minor = minor});
  return *this;
}
TarBuilder& TarBuilder::Zeros(const std::string& name, int64_t size) {
  entries_.push_back({.name = name, .type = S_IFREG, .zeros = size});
  return *this;
}

std::string TarBuilder::Build(Compression compression) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax(a);
  if (compression == Compression::kGzip) archive_write_add_filter_gzip(a);
  if (compression == Compression::kZstd) archive_write_add_filter_zstd(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(
      a, &out, nullptr,
      [](struct archive*, void* o, const void* buf, size_t n) -> la_ssize_t {
        static_cast<std::string*>(o)->append(static_cast<const char*>(buf), n);
        return static_cast<la_ssize_t>(n);
      },
      nullptr);
  for (const Entry& e : entries_) {
    struct archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.name.c_str());
    archive_entry_set_filetype(entry, e.type);
    archive_entry_set_perm(entry, e.attrs.mode);
    archive_entry_set_uid(entry, e.attrs.uid);
    archive_entry_set_gid(entry, e.attrs.gid);
    archive_entry_set_mtime(entry, e.attrs.mtime, 123456789);
    for (const auto& [k, v] : e.attrs.xattrs) {
      archive_entry_xattr_add_entry(entry, k.c_str(), v.data(), v.size());
    }
    if (e.hardlink) {
      archive_entry_set_hardlink(entry, e.link.c_str());
      archive_entry_set_size(entry, 0);
    } else if (e.type == S_IFLNK) {
      archive_entry_set_symlink(entry, e.link.c_str());
    } else if (e.type == S_IFCHR || e.type == S_IFBLK) {
      archive_entry_set_rdevmajor(entry, e.major);
      archive_entry_set_rdevminor(entry, e.minor);
    } else if (e.type == S_IFREG) {
      archive_entry_set_size(entry, e.zeros > 0 ? e.zeros : static_cast<int64_t>(e.data.size()));
    }
    archive_write_header(a, entry);
    if (e.type == S_IFREG && !e.hardlink) {
      if (e.zeros > 0) {
        std::string block(1 << 20, '\0');
        for (int64_t left = e.zeros; left > 0;) {
          size_t n = static_cast<size_t>(std::min<int64_t>(left, block.size()));
          archive_write_data(a, block.data(), n);
          left -= static_cast<int64_t>(n);
        }
      } else {
        archive_write_data(a, e.data.data(), e.data.size());
      }
    }
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

content::Digest DigestOf(const std::string& data) { return content::Digest::FromBytes(data); }

}  // namespace berth::diff::testing
