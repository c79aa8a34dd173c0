// NamespacedWriter: see content.h.

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "berth/metadata/v1/content.pb.h"
#include "plugins/base/identifiers.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "services/common/any.h"
#include "services/metadata/content.h"
#include "services/metadata/namespaces.h"
#include "services/metadata/records.h"
#include "services/metadata/schema.h"
#include "services/metadata/time_util.h"

namespace berth::metadata {
namespace {

constexpr size_t kCopyChunk = 1 << 20;

absl::Status Closed() { return FailedPrecondition("writer is closed"); }

}  // namespace

NamespacedWriter::NamespacedWriter(ContentMetadata& store, WriteContext context, std::string ref,
                                   std::string backend_ref, content::Digest shared,
                                   int64_t shared_size,
                                   std::unique_ptr<content::ContentWriter> writer)
    : store_(store),
      context_(std::move(context)),
      ref_(std::move(ref)),
      backend_ref_(std::move(backend_ref)),
      shared_(std::move(shared)),
      shared_size_(shared_size),
      writer_(std::move(writer)) {}

NamespacedWriter::~NamespacedWriter() {
  if (!shared_.empty()) store_.Unpin(shared_);
}

absl::Status NamespacedWriter::EnsureWriter() {
  if (writer_ != nullptr) return absl::OkStatus();
  // containerd's createAndCopy: the ingest starts as a copy of the shared blob.
  ASSIGN_OR_RETURN(writer_, store_.backend_.OpenWriter(backend_ref_, 0, content::Digest()));
  RETURN_IF_ERROR(writer_->Truncate(0));
  ASSIGN_OR_RETURN(std::unique_ptr<content::ContentReader> reader,
                   store_.backend_.OpenReader(shared_));
  std::string buffer(kCopyChunk, '\0');
  for (int64_t offset = 0;;) {
    ASSIGN_OR_RETURN(size_t n, reader->ReadAt(offset, absl::MakeSpan(buffer)));
    if (n == 0) break;
    RETURN_IF_ERROR(writer_->Write(absl::string_view(buffer.data(), n)));
    offset += static_cast<int64_t>(n);
  }
  store_.Unpin(shared_);
  shared_ = content::Digest();
  return absl::OkStatus();
}

absl::Status NamespacedWriter::Write(absl::string_view data) {
  if (closed_) return Closed();
  RETURN_IF_ERROR(EnsureWriter());
  return writer_->Write(data);
}

absl::Status NamespacedWriter::Truncate(int64_t size) {
  if (closed_) return Closed();
  RETURN_IF_ERROR(EnsureWriter());
  return writer_->Truncate(size);
}

content::Digest NamespacedWriter::Digest() const {
  return writer_ != nullptr ? writer_->Digest() : shared_;
}

IngestStatus NamespacedWriter::Status() const {
  IngestStatus out;
  out.set_ref(ref_);
  if (writer_ != nullptr) {
    content::Status status = writer_->Status();
    out.set_offset(status.offset);
    out.set_total(status.total);
    *out.mutable_started_at() = ToTimestamp(status.started_at);
    *out.mutable_updated_at() = ToTimestamp(status.updated_at);
  } else {
    out.set_offset(shared_size_);
    out.set_total(shared_size_);
    *out.mutable_started_at() = services::Now();
    *out.mutable_updated_at() = out.started_at();
  }
  return out;
}

absl::StatusOr<int64_t> NamespacedWriter::VerifyAndCommitBackend(int64_t size,
                                                                 const content::Digest& expected,
                                                                 content::Digest& actual) {
  if (writer_ == nullptr) {
    if (size != 0 && size != shared_size_) {
      return FailedPrecondition(
          absl::StrCat("\"", ref_, "\" failed size validation: ", shared_size_, " != ", size));
    }
    if (!expected.empty() && expected != shared_) {
      return FailedPrecondition(absl::StrCat("\"", ref_, "\" unexpected digest"));
    }
    actual = shared_;
    return shared_size_;
  }
  int64_t offset = writer_->Status().offset;
  if (size != 0 && size != offset) {
    return FailedPrecondition(
        absl::StrCat("\"", ref_, "\" failed size validation: ", offset, " != ", size));
  }
  actual = writer_->Digest();
  store_.Pin(actual);  // from the rename until the record exists
  absl::Status status = writer_->Commit(offset, expected, {});
  if (!status.ok() && !absl::IsAlreadyExists(status)) {
    store_.Unpin(actual);
    return status;
  }
  return offset;
}

absl::Status NamespacedWriter::Commit(int64_t size, const content::Digest& expected,
                                      const content::Labels& labels) {
  if (closed_) return Closed();
  closed_ = true;
  ContentInfo info;
  for (const auto& [key, value] : labels) {
    if (!value.empty()) (*info.mutable_labels())[key] = value;
  }
  RETURN_IF_ERROR(Annotate(ValidateLabels(info.labels()), "content.Labels"));
  content::Digest actual;
  ASSIGN_OR_RETURN(int64_t committed_size, VerifyAndCommitBackend(size, expected, actual));
  absl::Cleanup unpin = [&] { store_.Unpin(actual); };
  if (writer_ == nullptr) {
    // Shared: the pin taken at open covers this commit; the destructor releases it.
    std::move(unpin).Cancel();
  }
  info.set_digest(actual.string());
  info.set_size(committed_size);
  *info.mutable_created_at() = services::Now();
  *info.mutable_updated_at() = info.created_at();
  const std::string& ns = context_.ns;
  bool exists = false;
  RETURN_IF_ERROR(store_.db_.Update([&](Txn& txn) -> absl::Status {
    exists = false;
    RETURN_IF_ERROR(txn.Delete(IngestKey(ns, ref_)));
    std::string key = ContentKey(ns, actual.string());
    ASSIGN_OR_RETURN(std::optional<std::string> existing, txn.Get(key));
    if (context_.lease) {
      RETURN_IF_ERROR(txn.Delete(LeaseResourceKey(ns, *context_.lease, "ingests", ref_)));
      absl::Status lease = CheckLeaseInTxn(txn, ns, *context_.lease);
      if (lease.ok()) {
        RETURN_IF_ERROR(
            txn.Put(LeaseResourceKey(ns, *context_.lease, "content", actual.string()), ""));
      }
    }
    if (existing) {
      exists = true;
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(EnsureNamespace(txn, ns));
    RETURN_IF_ERROR(LockReferencedContent(txn, ns, info.labels()));
    return WriteRecord(txn, key, info);
  }));
  store_.NotifyMutation(false);
  if (exists) return AlreadyExists(absl::StrCat("content ", actual.string()));
  return absl::OkStatus();
}

}  // namespace berth::metadata
