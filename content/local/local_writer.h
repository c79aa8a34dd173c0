#pragma once

// LocalContentWriter: the ContentWriter of LocalContentStore (see local_store.h for the
// layout). Internal to content/local; use ContentStore::OpenWriter.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "content/content_store.h"
#include "content/digest.h"
#include "content/local/ingest.h"
#include "content/local/async_appender.h"
#include "plugins/base/unique_fd.h"

namespace berth::content::local {

class LocalContentWriter final : public ContentWriter {
 public:
  // Takes over the ingest at `ingest_dir`, whose lock the caller holds and whose `data` file is
  // open at `data_fd`. `hasher` has hashed the first `status.offset` bytes of it. Blobs are
  // committed into `blob_dir`.
  LocalContentWriter(RefLock lock, std::string ingest_dir, std::string blob_dir, UniqueFd data_fd,
                     Sha256 hasher, content::Status status);
  // Keeps the ingest for resumption: syncs the data and records updatedat.
  ~LocalContentWriter() override;

  absl::Status Write(absl::string_view data) override;
  absl::Status Truncate(int64_t size) override;
  content::Digest Digest() const override;
  content::Status Status() const override;
  absl::Status Commit(int64_t size, const content::Digest& expected, const Labels& labels) override;

 private:
  absl::Status CheckOpen() const;
  // A small ingest's write: straight into the file, all or nothing.
  absl::Status WriteInline(absl::string_view data);
  // After the appender failed with `error`: continues from the prefix the file holds.
  absl::Status AppendFailed(int error);
  // Makes the file hold every byte written (the appender's queue drained) and stops the
  // appender; 0 or the errno of a failed write.
  int StopAppender();
  // Sets offset and digest to the first `size` bytes of the file (at most what it holds).
  absl::Status RestartAt(int64_t size);
  // Commit's second half: the checks passed and `digest` is the blob name.
  absl::Status Install(const content::Digest& digest);

  RefLock lock_;
  const std::string ingest_dir_;
  const std::string blob_dir_;
  UniqueFd fd_;  // invalid once committed
  Sha256 hasher_;
  content::Status status_;
  // Started once the ingest grows large; uses fd_ and hasher_ (so it is declared after them).
  std::unique_ptr<AsyncAppender> appender_;
};

}  // namespace berth::content::local
