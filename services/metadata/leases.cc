#include "services/metadata/leases.h"

#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "plugins/base/identifiers.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "services/common/any.h"
#include "services/metadata/namespaces.h"
#include "services/metadata/records.h"
#include "services/metadata/schema.h"

namespace berth::metadata {
namespace {

std::string ResourceKey(absl::string_view ns, absl::string_view id, const LeaseResource& r) {
  return LeaseResourceKey(ns, id, r.type(), r.id());
}

absl::Status LeaseNotFound(absl::string_view id) {
  return NotFound(absl::StrCat("lease \"", id, "\""));
}

absl::Status BadArgument(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(message, ": invalid argument"));
}

bool IsSha256Digest(absl::string_view digest) {
  if (!absl::StartsWith(digest, "sha256:") || digest.size() != 7 + 64) return false;
  for (char c : digest.substr(7)) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c)) || absl::ascii_isupper(c)) {
      return false;
    }
  }
  return true;
}

// Runs `fn` in a transaction after checking that lease `id` exists.
absl::Status WithLease(Db& db, absl::string_view ns, absl::string_view id,
                       absl::FunctionRef<absl::Status(Txn&)> fn) {
  return db.Update([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<std::string> existing, txn.Get(LeaseKey(ns, id)));
    if (!existing) return LeaseNotFound(id);
    return fn(txn);
  });
}

}  // namespace

std::string GenerateLeaseId() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  uint64_t bits = random();
  std::string bytes(reinterpret_cast<const char*>(&bits), 3);
  google::protobuf::Timestamp now = services::Now();
  return absl::StrCat(now.seconds() * 1000000000LL + now.nanos(), "-",
                      absl::WebSafeBase64Escape(bytes));
}

// containerd checks nothing but non-emptiness (ctr's random ids, "<nanos>-<base64>", may hold
// "--" or "_-", which the identifier grammar refuses); keys only need no NUL, and a bound.
absl::Status ValidateLeaseId(absl::string_view id) {
  constexpr size_t kMaxLeaseId = 256;
  if (id.empty()) return BadArgument("invalid lease id: must not be empty");
  if (id.size() > kMaxLeaseId) {
    return BadArgument(absl::StrCat("invalid lease id: longer than ", kMaxLeaseId, " bytes"));
  }
  for (char c : id) {
    if (c <= ' ' || c > '~') {
      return BadArgument("invalid lease id: only printable ASCII without spaces is allowed");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateLeaseResource(const LeaseResource& resource) {
  if (resource.id().empty() || resource.id().find('\0') != std::string::npos) {
    return BadArgument("resource id must be set");
  }
  const std::string& type = resource.type();
  if (type == "content") {
    if (!IsSha256Digest(resource.id())) {
      return BadArgument(absl::StrCat("invalid content digest \"", resource.id(), "\""));
    }
    return absl::OkStatus();
  }
  if (type == "ingests") return absl::OkStatus();
  if (absl::StartsWith(type, "snapshots/") && type.size() > strlen("snapshots/") &&
      type.find('\0') == std::string::npos) {
    return absl::OkStatus();
  }
  return BadArgument(absl::StrCat("unsupported resource type \"", type, "\""));
}

absl::StatusOr<Lease> LeaseStore::Create(const std::string& ns, Lease lease) {
  RETURN_IF_ERROR(ValidateLeaseId(lease.id()));
  RETURN_IF_ERROR(ValidateLabels(lease.labels()));
  DropEmptyValues(*lease.mutable_labels());
  *lease.mutable_created_at() = services::Now();
  RETURN_IF_ERROR(db_.Update([&](Txn& txn) -> absl::Status {
    std::string key = LeaseKey(ns, lease.id());
    ASSIGN_OR_RETURN(std::optional<std::string> existing, txn.Get(key));
    if (existing) return AlreadyExists(absl::StrCat("lease \"", lease.id(), "\""));
    RETURN_IF_ERROR(EnsureNamespace(txn, ns));
    return WriteRecord(txn, key, lease);
  }));
  return lease;
}

absl::Status LeaseStore::Delete(const std::string& ns, const std::string& id) {
  RETURN_IF_ERROR(ValidateLeaseId(id));
  return WithLease(db_, ns, id, [&](Txn& txn) -> absl::Status {
    std::vector<std::string> keys;
    RETURN_IF_ERROR(txn.Scan(LeaseResourcesPrefix(ns, id), [&](absl::string_view key, absl::string_view) {
      keys.emplace_back(key);
      return true;
    }));
    for (const std::string& key : keys) RETURN_IF_ERROR(txn.Delete(key));
    return txn.Delete(LeaseKey(ns, id));
  });
}

absl::StatusOr<std::vector<Lease>> LeaseStore::List(
    const std::string& ns, const std::function<bool(const Lease&)>& match) {
  std::vector<Lease> out;
  absl::Status parse_error;
  RETURN_IF_ERROR(db_.View([&](Txn& txn) {
    return txn.Scan(KindPrefix(ns, kLeasesKind), [&](absl::string_view key, absl::string_view value) {
      Lease lease;
      if (!lease.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
        parse_error = CorruptRecord(key);
        return false;
      }
      if (match(lease)) out.push_back(std::move(lease));
      return true;
    });
  }));
  RETURN_IF_ERROR(parse_error);
  return out;
}

absl::Status LeaseStore::AddResource(const std::string& ns, const std::string& id,
                                     const LeaseResource& resource) {
  RETURN_IF_ERROR(ValidateLeaseResource(resource));
  return WithLease(db_, ns, id, [&](Txn& txn) {
    return txn.Put(ResourceKey(ns, id, resource), "");
  });
}

absl::Status LeaseStore::DeleteResource(const std::string& ns, const std::string& id,
                                        const LeaseResource& resource) {
  RETURN_IF_ERROR(ValidateLeaseResource(resource));
  return WithLease(db_, ns, id, [&](Txn& txn) {
    return txn.Delete(ResourceKey(ns, id, resource));
  });
}

absl::StatusOr<std::vector<LeaseResource>> LeaseStore::ListResources(const std::string& ns,
                                                                     const std::string& id) {
  std::vector<LeaseResource> out;
  RETURN_IF_ERROR(db_.View([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<std::string> existing, txn.Get(LeaseKey(ns, id)));
    if (!existing) return LeaseNotFound(id);
    std::string prefix = LeaseResourcesPrefix(ns, id);
    return txn.Scan(prefix, [&](absl::string_view key, absl::string_view) {
      absl::string_view rest = key.substr(prefix.size());
      size_t separator = rest.find('\0');
      LeaseResource resource;
      resource.set_type(std::string(rest.substr(0, separator)));
      resource.set_id(std::string(rest.substr(separator + 1)));
      out.push_back(std::move(resource));
      return true;
    });
  }));
  return out;
}

absl::Status LeaseStore::CheckExists(const std::string& ns, const std::string& id) {
  return db_.View([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<std::string> existing, txn.Get(LeaseKey(ns, id)));
    return existing ? absl::OkStatus() : LeaseNotFound(id);
  });
}

}  // namespace berth::metadata
