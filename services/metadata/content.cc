#include "services/metadata/content.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "berth/metadata/v1/content.pb.h"
#include "plugins/base/identifiers.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "services/common/any.h"
#include "services/metadata/namespaces.h"
#include "services/metadata/records.h"
#include "services/metadata/schema.h"
#include "services/metadata/time_util.h"

namespace berth::metadata {
namespace {

using Ingest = berth::metadata::v1::Ingest;

constexpr absl::Duration kIngestExpiry = absl::Hours(24);

absl::Status ContentNotFound(absl::string_view digest) {
  return NotFound(absl::StrCat("content digest ", digest));
}

absl::Status IngestNotFound(absl::string_view ref) {
  return NotFound(absl::StrCat("ingest ref \"", ref, "\""));
}

}  // namespace

std::string ContentKey(absl::string_view ns, absl::string_view digest) {
  return ObjectKey(ns, kContentKind, digest);
}

std::string IngestKey(absl::string_view ns, absl::string_view ref) {
  return ObjectKey(ns, kIngestsKind, ref);
}

absl::Status CheckLeaseInTxn(Txn& txn, absl::string_view ns, absl::string_view id) {
  ASSIGN_OR_RETURN(std::optional<std::string> lease, txn.Get(LeaseKey(ns, id)));
  if (!lease) return NotFound("lease does not exist");
  return absl::OkStatus();
}

absl::Status LockReferencedContent(Txn& txn, absl::string_view ns,
                                   const google::protobuf::Map<std::string, std::string>& labels) {
  for (const auto& [key, value] : labels) {
    if (!absl::StartsWith(key, kGcRefContentPrefix)) continue;
    if (!content::Digest::Validate(value).ok()) continue;
    ASSIGN_OR_RETURN(std::optional<std::string> ignored, txn.Get(ContentKey(ns, value)));
    (void)ignored;
  }
  return absl::OkStatus();
}

absl::StatusOr<ContentInfo> ContentMetadata::Info(const std::string& ns,
                                                  const std::string& digest) {
  RETURN_IF_ERROR(content::Digest::Validate(digest));
  ContentInfo info;
  RETURN_IF_ERROR(db_.View([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(bool found, ReadRecord(txn, ContentKey(ns, digest), info));
    return found ? absl::OkStatus() : ContentNotFound(digest);
  }));
  return info;
}

absl::Status ContentMetadata::SetLabels(const std::string& ns, const std::string& digest,
                                      const content::Labels& labels) {
  if (labels.empty()) return absl::OkStatus();
  ContentInfo info;
  info.set_digest(digest);
  std::vector<std::string> paths;
  for (const auto& [key, value] : labels) {
    (*info.mutable_labels())[key] = value;
    paths.push_back(absl::StrCat("labels.", key));
  }
  return Update(ns, info, paths).status();
}

absl::StatusOr<ContentInfo> ContentMetadata::Update(const std::string& ns,
                                                    const ContentInfo& info,
                                                    const std::vector<std::string>& paths) {
  RETURN_IF_ERROR(content::Digest::Validate(info.digest()));
  ContentInfo updated;
  RETURN_IF_ERROR(db_.Update([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(bool found, ReadRecord(txn, ContentKey(ns, info.digest()), updated));
    if (!found) return ContentNotFound(info.digest());
    auto& labels = *updated.mutable_labels();
    for (const std::string& path : paths) {
      if (absl::StartsWith(path, "labels.")) {
        std::string key = path.substr(strlen("labels."));
        auto it = info.labels().find(key);
        if (it == info.labels().end()) {
          labels.erase(key);
        } else {
          labels[key] = it->second;
        }
      } else if (path == "labels") {
        labels = info.labels();
      } else {
        return InvalidArgument(absl::StrCat("cannot update \"", path, "\" field on content info \"",
                                            info.digest(), "\""));
      }
    }
    if (paths.empty()) labels = info.labels();
    DropEmptyValues(labels);
    RETURN_IF_ERROR(Annotate(ValidateLabels(labels), "content.Labels"));
    *updated.mutable_updated_at() = services::Now();
    RETURN_IF_ERROR(LockReferencedContent(txn, ns, labels));
    return WriteRecord(txn, ContentKey(ns, info.digest()), updated);
  }));
  NotifyMutation(false);
  return updated;
}

absl::Status ContentMetadata::Walk(const std::string& ns,
                                   const std::function<bool(const ContentInfo&)>& fn) {
  absl::Status parse_error;
  RETURN_IF_ERROR(db_.View([&](Txn& txn) {
    return txn.Scan(KindPrefix(ns, kContentKind), [&](absl::string_view key, absl::string_view v) {
      ContentInfo info;
      if (!info.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
        parse_error = CorruptRecord(key);
        return false;
      }
      return fn(info);
    });
  }));
  return parse_error;
}

absl::Status ContentMetadata::Delete(const std::string& ns, const std::string& digest) {
  RETURN_IF_ERROR(content::Digest::Validate(digest));
  RETURN_IF_ERROR(db_.Update([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<std::string> existing, txn.Get(ContentKey(ns, digest)));
    if (!existing) return ContentNotFound(digest);
    RETURN_IF_ERROR(txn.Delete(ContentKey(ns, digest)));
    // Drop the blob from every lease of the namespace (containerd removeContentLease).
    std::vector<std::string> keys;
    std::string suffix = Key("", "content", digest);
    RETURN_IF_ERROR(txn.Scan(KindPrefix(ns, kLeaseResourcesKind),
                             [&](absl::string_view key, absl::string_view) {
                               if (absl::EndsWith(key, suffix)) keys.emplace_back(key);
                               return true;
                             }));
    for (const std::string& key : keys) RETURN_IF_ERROR(txn.Delete(key));
    return absl::OkStatus();
  }));
  NotifyMutation(true);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<content::ContentReader>> ContentMetadata::OpenReader(
    const std::string& ns, const std::string& digest) {
  RETURN_IF_ERROR(Info(ns, digest).status());
  ASSIGN_OR_RETURN(content::Digest parsed, content::Digest::Parse(digest));
  return backend_.OpenReader(parsed);
}

absl::StatusOr<std::unique_ptr<NamespacedWriter>> ContentMetadata::OpenWriter(
    const WriteContext& context, const std::string& ref, int64_t total,
    const std::string& expected) {
  if (ref.empty()) return InvalidArgument("ref must not be empty");
  content::Digest expected_digest;
  if (!expected.empty()) {
    ASSIGN_OR_RETURN(expected_digest, content::Digest::Parse(expected));
    absl::StatusOr<ContentInfo> existing = Info(context.ns, expected);
    if (existing.ok()) return AlreadyExists(absl::StrCat("content ", expected));
    if (!absl::IsNotFound(existing.status())) return existing.status();
  }
  // Shared: the bytes are on disk already (another namespace); pin them for the writer's life.
  std::optional<int64_t> shared_size;
  if (!expected_digest.empty()) shared_size = PinIfPresent(expected_digest);
  std::string backend_ref;
  absl::Status status = db_.Update([&](Txn& txn) -> absl::Status {
    Ingest ingest;
    ASSIGN_OR_RETURN(bool found, ReadRecord(txn, IngestKey(context.ns, ref), ingest));
    if (!found) {
      ingest.set_backend_ref(absl::StrCat(context.ns, "/", absl::ToUnixNanos(absl::Now()), "/", ref));
    }
    if (total > 0) ingest.set_total(total);
    if (!expected.empty()) ingest.set_expected(expected);
    if (context.lease) {
      RETURN_IF_ERROR(CheckLeaseInTxn(txn, context.ns, *context.lease));
      RETURN_IF_ERROR(txn.Put(LeaseResourceKey(context.ns, *context.lease, "ingests", ref), ""));
      ingest.clear_expires_at();
    } else {
      *ingest.mutable_expires_at() = ToTimestamp(absl::Now() + kIngestExpiry);
    }
    if (!expected.empty()) RETURN_IF_ERROR(txn.Get(ContentKey(context.ns, expected)).status());
    RETURN_IF_ERROR(EnsureNamespace(txn, context.ns));
    backend_ref = ingest.backend_ref();
    return WriteRecord(txn, IngestKey(context.ns, ref), ingest);
  });
  if (!status.ok()) {
    if (shared_size) Unpin(expected_digest);
    return status;
  }
  std::unique_ptr<content::ContentWriter> writer;
  if (!shared_size) {
    // The expected digest was checked against the namespace above; the backend must not answer
    // AlreadyExists for a blob this namespace cannot see, so it gets none (as containerd).
    ASSIGN_OR_RETURN(writer, backend_.OpenWriter(backend_ref, total, content::Digest()));
  }
  return std::unique_ptr<NamespacedWriter>(new NamespacedWriter(
      *this, context, ref, backend_ref, shared_size ? expected_digest : content::Digest(),
      shared_size.value_or(0), std::move(writer)));
}

absl::StatusOr<IngestStatus> ContentMetadata::Status(const std::string& ns,
                                                     const std::string& ref) {
  Ingest ingest;
  RETURN_IF_ERROR(db_.View([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(bool found, ReadRecord(txn, IngestKey(ns, ref), ingest));
    return found ? absl::OkStatus() : IngestNotFound(ref);
  }));
  absl::StatusOr<content::Status> backend = backend_.Status(ingest.backend_ref());
  if (absl::IsNotFound(backend.status())) return IngestNotFound(ref);
  if (!backend.ok()) return backend.status();
  IngestStatus out;
  out.set_ref(ref);
  out.set_offset(backend->offset);
  out.set_total(backend->total != 0 ? backend->total : ingest.total());
  out.set_expected(ingest.expected());
  *out.mutable_started_at() = ToTimestamp(backend->started_at);
  *out.mutable_updated_at() = ToTimestamp(backend->updated_at);
  return out;
}

absl::StatusOr<std::vector<IngestStatus>> ContentMetadata::ListStatuses(const std::string& ns) {
  std::vector<std::string> refs;
  std::string prefix = KindPrefix(ns, kIngestsKind);
  RETURN_IF_ERROR(db_.View([&](Txn& txn) {
    return txn.Scan(prefix, [&](absl::string_view key, absl::string_view) {
      refs.emplace_back(key.substr(prefix.size()));
      return true;
    });
  }));
  std::vector<IngestStatus> out;
  for (const std::string& ref : refs) {
    absl::StatusOr<IngestStatus> status = Status(ns, ref);
    if (absl::IsNotFound(status.status())) continue;  // committed or aborted meanwhile
    if (!status.ok()) return status.status();
    out.push_back(*std::move(status));
  }
  return out;
}

absl::Status ContentMetadata::Abort(const std::string& ns, const std::string& ref) {
  Ingest ingest;
  RETURN_IF_ERROR(db_.Update([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(bool found, ReadRecord(txn, IngestKey(ns, ref), ingest));
    if (!found) return IngestNotFound(ref);
    RETURN_IF_ERROR(txn.Delete(IngestKey(ns, ref)));
    std::vector<std::string> keys;
    std::string suffix = Key("", "ingests", ref);
    RETURN_IF_ERROR(txn.Scan(KindPrefix(ns, kLeaseResourcesKind),
                             [&](absl::string_view key, absl::string_view) {
                               if (absl::EndsWith(key, suffix)) keys.emplace_back(key);
                               return true;
                             }));
    for (const std::string& key : keys) RETURN_IF_ERROR(txn.Delete(key));
    return absl::OkStatus();
  }));
  absl::Status status = backend_.Abort(ingest.backend_ref());
  if (absl::IsNotFound(status)) return absl::OkStatus();
  return status;
}

void ContentMetadata::Pin(const content::Digest& digest) {
  absl::MutexLock lock(&pin_mu_);
  ++pins_[digest.string()];
}

void ContentMetadata::Unpin(const content::Digest& digest) {
  absl::MutexLock lock(&pin_mu_);
  auto it = pins_.find(digest.string());
  if (it != pins_.end() && --it->second <= 0) pins_.erase(it);
}

std::optional<int64_t> ContentMetadata::PinIfPresent(const content::Digest& digest) {
  absl::MutexLock lock(&pin_mu_);
  absl::StatusOr<content::Info> info = backend_.Info(digest);
  if (!info.ok()) return std::nullopt;
  ++pins_[digest.string()];
  return info->size;
}

absl::StatusOr<bool> ContentMetadata::DeleteBlobIfUnreferenced(const content::Digest& digest) {
  absl::MutexLock lock(&pin_mu_);
  if (pins_.contains(digest.string())) return false;
  bool referenced = false;
  RETURN_IF_ERROR(db_.View([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<std::string> namespaces, NamespaceNames(txn));
    for (const std::string& ns : namespaces) {
      ASSIGN_OR_RETURN(std::optional<std::string> record, txn.Get(ContentKey(ns, digest.string())));
      if (record) {
        referenced = true;
        break;
      }
    }
    return absl::OkStatus();
  }));
  if (referenced) return false;
  absl::Status status = backend_.Delete(digest);
  if (absl::IsNotFound(status)) return false;
  RETURN_IF_ERROR(status);
  return true;
}

}  // namespace berth::metadata
