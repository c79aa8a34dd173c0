#include "services/metadata/namespaces.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "plugins/base/identifiers.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "services/metadata/records.h"
#include "services/metadata/schema.h"

namespace berth::metadata {
namespace {

// The kinds of objects whose presence keeps a namespace from being deleted, for the message.
std::string FirstKind(absl::string_view key, absl::string_view prefix) {
  absl::string_view rest = key.substr(prefix.size());
  return std::string(rest.substr(0, rest.find('\0')));
}

}  // namespace

absl::StatusOr<std::vector<std::string>> NamespaceNames(Txn& txn) {
  std::vector<std::string> names;
  const std::string prefix = NamespacesPrefix();
  RETURN_IF_ERROR(txn.Scan(prefix, [&](absl::string_view key, absl::string_view) {
    names.emplace_back(key.substr(prefix.size()));
    return true;
  }));
  return names;
}

absl::Status EnsureNamespace(Txn& txn, absl::string_view ns) {
  std::string key = NamespaceKey(ns);
  // Shared: creates in one namespace must not queue behind each other's commit and fsync;
  // Delete reads the key exclusively, so it still excludes them. A namespace that is not there
  // yet is locked exclusively from the start: concurrent first creates that all took it shared
  // and then upgraded to write it would deadlock each other.
  ASSIGN_OR_RETURN(bool present, txn.Peek(key));
  ASSIGN_OR_RETURN(std::optional<std::string> existing,
                   present ? txn.GetShared(key) : txn.Get(key));
  if (existing) return absl::OkStatus();
  Namespace record;
  record.set_name(std::string(ns));
  return txn.Put(key, record.SerializeAsString());
}

absl::StatusOr<Namespace> NamespaceStore::Get(const std::string& name) {
  RETURN_IF_ERROR(ValidateIdentifier(name));
  Namespace out;
  out.set_name(name);
  RETURN_IF_ERROR(db_.View([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(bool found, ReadRecord(txn, NamespaceKey(name), out));
    (void)found;
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<Namespace>> NamespaceStore::List() {
  std::vector<Namespace> out;
  absl::Status parse_error;
  RETURN_IF_ERROR(db_.View([&](Txn& txn) {
    return txn.Scan(NamespacesPrefix(), [&](absl::string_view key, absl::string_view value) {
      Namespace ns;
      if (!ns.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
        parse_error = CorruptRecord(key);
        return false;
      }
      out.push_back(std::move(ns));
      return true;
    });
  }));
  RETURN_IF_ERROR(parse_error);
  return out;
}

absl::Status NamespaceStore::Create(const Namespace& ns) {
  RETURN_IF_ERROR(ValidateIdentifier(ns.name()));
  RETURN_IF_ERROR(ValidateLabels(ns.labels()));
  return db_.Update([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<std::string> existing, txn.Get(NamespaceKey(ns.name())));
    if (existing) return AlreadyExists(absl::StrCat("namespace \"", ns.name(), "\""));
    Namespace record;
    record.set_name(ns.name());
    for (const auto& [key, value] : ns.labels()) {
      if (!value.empty()) (*record.mutable_labels())[key] = value;
    }
    return txn.Put(NamespaceKey(ns.name()), record.SerializeAsString());
  });
}

absl::StatusOr<Namespace> NamespaceStore::Update(const Namespace& ns,
                                                 const std::vector<std::string>& paths) {
  RETURN_IF_ERROR(ValidateIdentifier(ns.name()));
  RETURN_IF_ERROR(ValidateLabels(ns.labels()));
  for (const std::string& path : paths) {
    if (!absl::StartsWith(path, "labels.")) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot update \"", path, "\" field: invalid argument"));
    }
  }
  Namespace record;
  RETURN_IF_ERROR(db_.Update([&](Txn& txn) -> absl::Status {
    record.Clear();
    ASSIGN_OR_RETURN(bool found, ReadRecord(txn, NamespaceKey(ns.name()), record));
    (void)found;
    record.set_name(ns.name());
    if (paths.empty()) record.clear_labels();
    auto& labels = *record.mutable_labels();
    if (paths.empty()) {
      for (const auto& [key, value] : ns.labels()) labels[key] = value;
    }
    for (const std::string& path : paths) {
      std::string key = path.substr(strlen("labels."));
      auto it = ns.labels().find(key);
      labels[key] = it == ns.labels().end() ? "" : it->second;
    }
    DropEmptyValues(labels);
    return txn.Put(NamespaceKey(ns.name()), record.SerializeAsString());
  }));
  return record;
}

absl::Status NamespaceStore::Delete(const std::string& name) {
  RETURN_IF_ERROR(ValidateIdentifier(name));
  return db_.Update([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<std::string> existing, txn.Get(NamespaceKey(name)));
    if (!existing) return NotFound(absl::StrCat("namespace \"", name, "\""));
    std::string prefix = NamespaceObjectsPrefix(name);
    std::string kind;
    RETURN_IF_ERROR(txn.Scan(prefix, [&](absl::string_view key, absl::string_view) {
      kind = FirstKind(key, prefix);
      return false;
    }));
    if (!kind.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "namespace \"", name, "\" must be empty, but it still has ", kind,
          ": failed precondition"));
    }
    return txn.Delete(NamespaceKey(name));
  });
}

}  // namespace berth::metadata
