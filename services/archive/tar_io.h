#pragma once

// Streaming tar over libarchive with absl::Status errors, for the archive service.
//
// TarReader pulls its input from a callback (the gRPC request stream) and never holds more than
// one chunk; TarWriter pushes its output to a callback (the gRPC response stream) in blocks.
// Both reject nothing themselves: path policy (no absolute paths, no "..") is the importer's.
//
// Not thread-safe; one owner each.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

struct archive;
struct archive_entry;

namespace berth::archive {

struct TarEntry {
  enum class Type { kFile, kDirectory, kSymlink, kOther };
  std::string path;     // as stored, with a leading "./" removed
  Type type = Type::kOther;
  int64_t size = 0;
  std::string link;     // symlink target
};

class TarReader {
 public:
  // `next` returns the next chunk of input (empty at end of stream) or an error.
  using Source = std::function<absl::StatusOr<absl::string_view>()>;
  static absl::StatusOr<std::unique_ptr<TarReader>> Open(Source next);
  ~TarReader();

  // The next entry; nullopt at the end of the archive. InvalidArgument for a malformed or
  // truncated archive (with libarchive's message).
  absl::StatusOr<std::optional<TarEntry>> Next();
  // Reads up to buf.size() bytes of the current entry's data; 0 at its end.
  absl::StatusOr<size_t> Read(absl::Span<char> buf);

 private:
  TarReader() = default;
  static long ReadCallback(struct archive*, void* self, const void** buffer);
  absl::Status Error(absl::string_view what);

  struct archive* archive_ = nullptr;
  Source source_;
  absl::Status source_error_;
};

class TarWriter {
 public:
  // `sink` receives output blocks; an error from it fails the current call.
  using Sink = std::function<absl::Status(absl::string_view)>;
  static absl::StatusOr<std::unique_ptr<TarWriter>> Open(Sink sink);
  ~TarWriter();

  // Starts a regular file of `size` bytes (mode 0444 for blobs, 0644 otherwise) or a directory.
  absl::Status AddFile(const std::string& path, int64_t size);
  absl::Status AddDirectory(const std::string& path);
  absl::Status Write(absl::string_view data);
  // Convenience: a whole small file.
  absl::Status AddFileData(const std::string& path, absl::string_view data);
  // Writes the end-of-archive blocks and flushes.
  absl::Status Close();

 private:
  TarWriter() = default;
  static long WriteCallback(struct archive*, void* self, const void* buffer, size_t length);
  absl::Status Error(absl::string_view what);

  struct archive* archive_ = nullptr;
  Sink sink_;
  absl::Status sink_error_;
  bool closed_ = false;
};

}  // namespace berth::archive
