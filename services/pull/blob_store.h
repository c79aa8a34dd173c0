#pragma once

// Writing registry blobs into the namespaced content store under a pull's lease.
//
// Downloads go into an ingest whose ref is "pull-<digest>": a pull that was interrupted (a
// daemon restart, a broken connection that ran out of retries) resumes from the bytes already
// in that ingest the next time the same blob is pulled, as long as the old pull's lease (24 h
// expiry) still protects it. The ingest's running digest is checked on commit, so bytes that do
// not match the digest never become a blob (the ingest is aborted).

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "content/content_store.h"
#include "services/distribution/registry_client.h"
#include "services/metadata/content.h"
#include "services/metadata/leases.h"

namespace berth::pull {

struct LeaseScope {
  metadata::ContentMetadata& content;
  metadata::LeaseStore& leases;
  std::string ns;
  std::string lease;
};

// Creates a lease that expires after `ttl` (so a crashed pull's work is collected eventually).
absl::StatusOr<std::string> CreatePullLease(metadata::LeaseStore& leases, const std::string& ns,
                                            absl::string_view prefix);

// A BlobSink into an ingest, counting bytes for progress and honouring a cancel flag.
class IngestSink : public distribution::BlobSink {
 public:
  IngestSink(std::unique_ptr<metadata::NamespacedWriter> writer, std::atomic<int64_t>& offset,
             const std::atomic<bool>& cancelled)
      : writer_(std::move(writer)), offset_(offset), cancelled_(cancelled) {
    offset_ = writer_->Status().offset();
  }
  int64_t Offset() const override { return writer_->Status().offset(); }
  absl::Status Write(absl::string_view data) override;
  absl::Status Reset() override;
  metadata::NamespacedWriter& writer() { return *writer_; }

 private:
  std::unique_ptr<metadata::NamespacedWriter> writer_;
  std::atomic<int64_t>& offset_;
  const std::atomic<bool>& cancelled_;
};

enum class FetchOutcome { kFetched, kExists };

// Downloads `desc` (unless the namespace has it: then the lease just holds it) and commits it
// with `labels`. FailedPrecondition when the bytes do not match the digest (nothing stored).
absl::StatusOr<FetchOutcome> FetchBlobInto(const LeaseScope& scope,
                                           distribution::RegistryClient& client,
                                           const distribution::Descriptor& desc,
                                           const content::Labels& labels,
                                           std::atomic<int64_t>& offset,
                                           const std::atomic<bool>& cancelled);

// Stores small bytes (a manifest or index) already verified against their digest.
absl::Status StoreBytes(const LeaseScope& scope, const std::string& digest,
                        const std::string& bytes, const content::Labels& labels);

// Adds (or replaces) labels on a stored blob.
absl::Status SetLabels(const LeaseScope& scope, const std::string& digest,
                       const content::Labels& labels);

}  // namespace berth::pull
