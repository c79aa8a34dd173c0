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
#include "content/local/direct_appender.h"
#include "content/local/pwrite_worker.h"
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
  // The write job for `data` at `offset`: staged for O_DIRECT when direct mode is on.
  int WriteAt(absl::string_view data, int64_t offset);
  // Starts writeback of everything written since the last call, without waiting, once enough
  // has accumulated; keeps Commit's final sync short and memory pressure low.
  void MaybeStartWriteback();
  // Commit's second half: the checks passed and `digest` is the blob name.
  absl::Status Install(const content::Digest& digest);

  RefLock lock_;
  const std::string ingest_dir_;
  const std::string blob_dir_;
  UniqueFd fd_;  // invalid once committed
  Sha256 hasher_;
  content::Status status_;
  int64_t writeback_from_ = 0;            // bytes before this offset have had writeback started
  std::unique_ptr<PwriteWorker> worker_;  // started by the first large write; uses fd_
  std::unique_ptr<DirectAppender> direct_;  // opened by the first large write at an aligned offset
  bool direct_tried_ = false;
};

}  // namespace berth::content::local
