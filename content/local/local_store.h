#pragma once

// LocalContentStore: the ContentStore backend on a local filesystem (containerd's
// content/local, plugin id "local").
//
// On-disk layout under `root`:
//
//   blobs/sha256/<hex>          committed blobs, read-only (0444), mtime = commit time
//   ingest/<sha256(ref)>/       one directory per in-progress write
//       ref                     the ref text (refs can be any string; the dir name is its hash)
//       data                    the bytes written so far; its size is the resume offset
//       total                   expected size (decimal), only when given
//       expected                expected digest, only when given
//       startedat, updatedat    RFC 3339 timestamps (updatedat rewritten when a writer closes)
//   ingest/.tmp-<hex>-XXXXXX/   an ingest being created; renamed to ingest/<hex> once its
//                               files exist, so a crash never leaves a half-made ingest
//
// Ingest directories left damaged by other means (an older layout, a crash, a full disk) are
// treated as absent by Status/ListStatuses and restarted from zero by OpenWriter
// (containerd#3089).
//
// Writers hash while they write, in one pass. Once an ingest reaches 1 MiB an AsyncAppender
// (async_appender.h) takes its bytes: one thread hashes them and another writes them with
// O_DIRECT, while the caller receives the next chunk; writeback is forced every 64 MiB, so
// Commit's sync has little left to do. Data is synced at Commit (and when a writer is dropped).
// A resumed ingest is re-read once to rebuild its digest (no hash state is persisted).
//
// Labels are not stored: Update answers kFailedPrecondition and Info.labels is always empty;
// the metadata layer keeps labels. Info.updated_at equals created_at.
//
// The per-ref writer lock is process-wide (keyed by the ingest path). Two processes writing
// the same root are not supported, as in containerd.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "content/content_store.h"

namespace berth::content::local {

class LocalContentStore final : public ContentStore {
 public:
  // Opens (creating directories as needed) the store at `root`, and removes temporary ingest
  // directories older than an hour, which only a crash leaves behind.
  static absl::StatusOr<std::unique_ptr<LocalContentStore>> Create(const std::string& root);

  absl::StatusOr<content::Info> Info(const content::Digest& digest) override;
  absl::StatusOr<content::Info> Update(const content::Info& info,
                                       const std::vector<std::string>& fieldpaths) override;
  absl::Status Walk(absl::FunctionRef<absl::Status(const content::Info&)> fn) override;
  absl::Status Delete(const content::Digest& digest) override;
  absl::StatusOr<std::unique_ptr<ContentReader>> OpenReader(const content::Digest& digest) override;
  absl::StatusOr<std::unique_ptr<ContentWriter>> OpenWriter(
      absl::string_view ref, int64_t expected_size, const content::Digest& expected) override;
  absl::StatusOr<content::Status> Status(absl::string_view ref) override;
  absl::StatusOr<std::vector<content::Status>> ListStatuses() override;
  absl::Status Abort(absl::string_view ref) override;

  const std::string& root() const { return root_; }
  // blobs/sha256/<hex> for a valid digest (kInvalidArgument otherwise).
  absl::StatusOr<std::string> BlobPath(const content::Digest& digest) const;
  // ingest/<sha256(ref)>.
  std::string IngestPath(absl::string_view ref) const;

 private:
  explicit LocalContentStore(std::string root);

  // Makes a fresh ingest directory for `ref` (built aside, renamed into place).
  absl::Status CreateIngest(const std::string& dir, absl::string_view ref, int64_t total,
                            const content::Digest& expected);

  const std::string root_;
  const std::string blob_dir_;    // <root>/blobs/sha256
  const std::string ingest_dir_;  // <root>/ingest
};

}  // namespace berth::content::local
