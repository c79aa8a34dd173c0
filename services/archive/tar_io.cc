#include "services/archive/tar_io.h"

#include <archive.h>
#include <archive_entry.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace berth::archive {

long TarReader::ReadCallback(struct archive* a, void* self, const void** buffer) {
  auto* reader = static_cast<TarReader*>(self);
  for (;;) {
    absl::StatusOr<absl::string_view> chunk = reader->source_();
    if (!chunk.ok()) {
      reader->source_error_ = chunk.status();
      archive_set_error(a, EIO, "%s", std::string(chunk.status().message()).c_str());
      return -1;
    }
    *buffer = chunk->data();
    if (!chunk->empty() || chunk->data() == nullptr) return static_cast<long>(chunk->size());
  }
}

absl::StatusOr<std::unique_ptr<TarReader>> TarReader::Open(Source next) {
  std::unique_ptr<TarReader> reader(new TarReader());
  reader->source_ = std::move(next);
  reader->archive_ = archive_read_new();
  if (reader->archive_ == nullptr) return absl::ResourceExhaustedError("archive_read_new");
  archive_read_support_format_tar(reader->archive_);
  archive_read_support_format_gnutar(reader->archive_);
  archive_read_support_filter_gzip(reader->archive_);
  archive_read_support_filter_none(reader->archive_);
  if (archive_read_open(reader->archive_, reader.get(), nullptr, &TarReader::ReadCallback,
                        nullptr) != ARCHIVE_OK) {
    return reader->Error("open archive");
  }
  return reader;
}

TarReader::~TarReader() {
  if (archive_ != nullptr) archive_read_free(archive_);
}

absl::Status TarReader::Error(absl::string_view what) {
  if (!source_error_.ok()) return source_error_;
  const char* message = archive_error_string(archive_);
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", message ? message : "unknown error",
                                                 ": invalid argument"));
}

absl::StatusOr<std::optional<TarEntry>> TarReader::Next() {
  struct archive_entry* entry = nullptr;
  int rc = archive_read_next_header(archive_, &entry);
  if (rc == ARCHIVE_EOF) return std::nullopt;
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return Error("read archive");
  TarEntry out;
  const char* path = archive_entry_pathname(entry);
  out.path = path ? path : "";
  while (absl::StartsWith(out.path, "./")) out.path.erase(0, 2);
  switch (archive_entry_filetype(entry)) {
    case AE_IFREG: out.type = TarEntry::Type::kFile; break;
    case AE_IFDIR: out.type = TarEntry::Type::kDirectory; break;
    case AE_IFLNK: out.type = TarEntry::Type::kSymlink; break;
    default: out.type = TarEntry::Type::kOther;
  }
  if (const char* hardlink = archive_entry_hardlink(entry); hardlink != nullptr) {
    out.type = TarEntry::Type::kSymlink;  // resolved the same way: a name for another file
    out.link = std::string("/") + hardlink;
  }
  if (out.type == TarEntry::Type::kSymlink && out.link.empty()) {
    const char* link = archive_entry_symlink(entry);
    out.link = link ? link : "";
  }
  out.size = archive_entry_size(entry);
  return out;
}

absl::StatusOr<size_t> TarReader::Read(absl::Span<char> buf) {
  la_ssize_t n = archive_read_data(archive_, buf.data(), buf.size());
  if (n < 0) return Error("read archive entry");
  return static_cast<size_t>(n);
}

long TarWriter::WriteCallback(struct archive* a, void* self, const void* buffer, size_t length) {
  auto* writer = static_cast<TarWriter*>(self);
  absl::Status status =
      writer->sink_(absl::string_view(static_cast<const char*>(buffer), length));
  if (!status.ok()) {
    writer->sink_error_ = status;
    archive_set_error(a, EIO, "%s", std::string(status.message()).c_str());
    return -1;
  }
  return static_cast<long>(length);
}

absl::StatusOr<std::unique_ptr<TarWriter>> TarWriter::Open(Sink sink) {
  std::unique_ptr<TarWriter> writer(new TarWriter());
  writer->sink_ = std::move(sink);
  writer->archive_ = archive_write_new();
  if (writer->archive_ == nullptr) return absl::ResourceExhaustedError("archive_write_new");
  archive_write_set_format_pax_restricted(writer->archive_);
  archive_write_set_bytes_per_block(writer->archive_, 64 * 1024);
  archive_write_set_bytes_in_last_block(writer->archive_, 1);
  if (archive_write_open(writer->archive_, writer.get(), nullptr, &TarWriter::WriteCallback,
                         nullptr) != ARCHIVE_OK) {
    return writer->Error("open archive");
  }
  return writer;
}

TarWriter::~TarWriter() {
  if (archive_ != nullptr) archive_write_free(archive_);
}

absl::Status TarWriter::Error(absl::string_view what) {
  if (!sink_error_.ok()) return sink_error_;
  const char* message = archive_error_string(archive_);
  return absl::InternalError(absl::StrCat(what, ": ", message ? message : "unknown error"));
}

absl::Status TarWriter::AddFile(const std::string& path, int64_t size) {
  struct archive_entry* entry = archive_entry_new();
  archive_entry_set_pathname(entry, path.c_str());
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_entry_set_perm(entry, 0444);
  archive_entry_set_size(entry, size);
  int rc = archive_write_header(archive_, entry);
  archive_entry_free(entry);
  return rc == ARCHIVE_OK ? absl::OkStatus() : Error(absl::StrCat("write header `", path, "`"));
}

absl::Status TarWriter::AddDirectory(const std::string& path) {
  struct archive_entry* entry = archive_entry_new();
  archive_entry_set_pathname(entry, path.c_str());
  archive_entry_set_filetype(entry, AE_IFDIR);
  archive_entry_set_perm(entry, 0755);
  int rc = archive_write_header(archive_, entry);
  archive_entry_free(entry);
  return rc == ARCHIVE_OK ? absl::OkStatus() : Error(absl::StrCat("write header `", path, "`"));
}

absl::Status TarWriter::Write(absl::string_view data) {
  la_ssize_t n = archive_write_data(archive_, data.data(), data.size());
  if (n < 0 || static_cast<size_t>(n) != data.size()) return Error("write archive data");
  return absl::OkStatus();
}

absl::Status TarWriter::AddFileData(const std::string& path, absl::string_view data) {
  if (absl::Status s = AddFile(path, static_cast<int64_t>(data.size())); !s.ok()) return s;
  return Write(data);
}

absl::Status TarWriter::Close() {
  if (closed_) return absl::OkStatus();
  closed_ = true;
  if (archive_write_close(archive_) != ARCHIVE_OK) return Error("close archive");
  return absl::OkStatus();
}

}  // namespace berth::archive
