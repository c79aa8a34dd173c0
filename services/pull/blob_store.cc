#include "services/pull/blob_store.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"

namespace berth::pull {
namespace {

constexpr absl::Duration kLeaseTtl = absl::Hours(24);

absl::Status HoldInLease(const LeaseScope& scope, const std::string& digest) {
  metadata::LeaseResource resource;
  resource.set_type("content");
  resource.set_id(digest);
  return scope.leases.AddResource(scope.ns, scope.lease, resource);
}

// Opens the ingest for `digest`; waits while another pull holds it (Unavailable: locked).
absl::StatusOr<std::unique_ptr<metadata::NamespacedWriter>> OpenIngest(
    const LeaseScope& scope, const std::string& digest, int64_t size,
    const std::atomic<bool>& cancelled) {
  metadata::WriteContext context{scope.ns, scope.lease};
  for (;;) {
    auto writer = scope.content.OpenWriter(context, absl::StrCat("pull-", digest), size, digest);
    if (!absl::IsUnavailable(writer.status())) return writer;
    if (cancelled) return absl::CancelledError("pull cancelled");
    absl::SleepFor(absl::Milliseconds(100));
  }
}

}  // namespace

absl::StatusOr<std::string> CreatePullLease(metadata::LeaseStore& leases, const std::string& ns,
                                            absl::string_view prefix) {
  metadata::Lease lease;
  lease.set_id(absl::StrCat(prefix, "-", absl::ToUnixNanos(absl::Now())));
  (*lease.mutable_labels())[metadata::kGcExpireLabel] =
      absl::FormatTime(absl::RFC3339_sec, absl::Now() + kLeaseTtl, absl::UTCTimeZone());
  ASSIGN_OR_RETURN(metadata::Lease created, leases.Create(ns, lease));
  return created.id();
}

absl::Status IngestSink::Write(absl::string_view data) {
  if (cancelled_) return absl::CancelledError("pull cancelled");
  RETURN_IF_ERROR(writer_->Write(data));
  offset_ += static_cast<int64_t>(data.size());
  return absl::OkStatus();
}

absl::Status IngestSink::Reset() {
  offset_ = 0;
  return writer_->Truncate(0);
}

absl::StatusOr<FetchOutcome> FetchBlobInto(const LeaseScope& scope,
                                           distribution::RegistryClient& client,
                                           const distribution::Descriptor& desc,
                                           const content::Labels& labels,
                                           std::atomic<int64_t>& offset,
                                           const std::atomic<bool>& cancelled) {
  auto writer = OpenIngest(scope, desc.digest, desc.size, cancelled);
  if (absl::IsAlreadyExists(writer.status())) {
    RETURN_IF_ERROR(HoldInLease(scope, desc.digest));
    RETURN_IF_ERROR(SetLabels(scope, desc.digest, labels));
    offset = desc.size;
    return FetchOutcome::kExists;
  }
  RETURN_IF_ERROR(writer.status());
  const std::string ref = absl::StrCat("pull-", desc.digest);
  if ((*writer)->Status().offset() > desc.size) RETURN_IF_ERROR((*writer)->Truncate(0));
  IngestSink sink(*std::move(writer), offset, cancelled);
  RETURN_IF_ERROR(client.FetchBlob(desc, sink));
  ASSIGN_OR_RETURN(content::Digest expected, content::Digest::Parse(desc.digest));
  absl::Status status = sink.writer().Commit(desc.size, expected, labels);
  if (absl::IsFailedPrecondition(status)) {
    (void)scope.content.Abort(scope.ns, ref);
    return FailedPrecondition(absl::StrCat("blob ", client.repository(), "@", desc.digest,
                                           ": downloaded bytes do not match the digest (",
                                           status.message(), "); not stored"));
  }
  if (absl::IsAlreadyExists(status)) {
    RETURN_IF_ERROR(HoldInLease(scope, desc.digest));
    RETURN_IF_ERROR(SetLabels(scope, desc.digest, labels));
    return FetchOutcome::kExists;
  }
  RETURN_IF_ERROR(status);
  return FetchOutcome::kFetched;
}

absl::Status StoreBytes(const LeaseScope& scope, const std::string& digest,
                        const std::string& bytes, const content::Labels& labels) {
  metadata::WriteContext context{scope.ns, scope.lease};
  const int64_t size = static_cast<int64_t>(bytes.size());
  auto writer = scope.content.OpenWriter(context, absl::StrCat("pull-", digest), size, digest);
  if (absl::IsAlreadyExists(writer.status())) {
    RETURN_IF_ERROR(HoldInLease(scope, digest));
    return SetLabels(scope, digest, labels);
  }
  RETURN_IF_ERROR(writer.status());
  if ((*writer)->Status().offset() != size) {
    RETURN_IF_ERROR((*writer)->Truncate(0));
    RETURN_IF_ERROR((*writer)->Write(bytes));
  }
  ASSIGN_OR_RETURN(content::Digest expected, content::Digest::Parse(digest));
  absl::Status status = (*writer)->Commit(size, expected, labels);
  if (absl::IsAlreadyExists(status)) {
    RETURN_IF_ERROR(HoldInLease(scope, digest));
    return SetLabels(scope, digest, labels);
  }
  return status;
}

absl::Status SetLabels(const LeaseScope& scope, const std::string& digest,
                       const content::Labels& labels) {
  return scope.content.SetLabels(scope.ns, digest, labels);
}

}  // namespace berth::pull
