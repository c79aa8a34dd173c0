#include "services/metadata/containers.h"

#include <optional>

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

std::string ContainerKey(absl::string_view ns, absl::string_view id) {
  return ObjectKey(ns, kContainersKind, id);
}

absl::Status ContainerNotFound(absl::string_view ns, absl::string_view id) {
  return NotFound(absl::StrCat("container \"", id, "\" in namespace \"", ns, "\""));
}

absl::Status BadArgument(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(message, ": invalid argument"));
}

// Applies one field-mask path from `from` onto `to`.
absl::Status ApplyPath(const std::string& path, const Container& from, Container& to) {
  auto copy_entry = [](const auto& source, auto& target, const std::string& key) {
    auto it = source.find(key);
    if (it == source.end()) {
      target.erase(key);
    } else {
      target[key] = it->second;
    }
  };
  if (absl::StartsWith(path, "labels.")) {
    copy_entry(from.labels(), *to.mutable_labels(), path.substr(strlen("labels.")));
  } else if (absl::StartsWith(path, "extensions.")) {
    copy_entry(from.extensions(), *to.mutable_extensions(), path.substr(strlen("extensions.")));
  } else if (path == "labels") {
    *to.mutable_labels() = from.labels();
  } else if (path == "spec") {
    if (from.has_spec()) {
      *to.mutable_spec() = from.spec();
    } else {
      to.clear_spec();  // ValidateContainer then refuses the record, as containerd does
    }
  } else if (path == "extensions") {
    *to.mutable_extensions() = from.extensions();
  } else if (path == "image") {
    to.set_image(from.image());
  } else if (path == "snapshotkey") {
    to.set_snapshot_key(from.snapshot_key());
  } else {
    return BadArgument(absl::StrCat("cannot update \"", path, "\" field on \"", from.id(), "\""));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateContainer(const Container& container) {
  RETURN_IF_ERROR(Annotate(ValidateIdentifier(container.id()), "container.ID"));
  for (const auto& [key, value] : container.extensions()) {
    if (key.empty()) return BadArgument("container.Extension keys must not be zero-length");
  }
  RETURN_IF_ERROR(Annotate(ValidateLabels(container.labels()), "containers.Labels"));
  if (container.runtime().name().empty()) return BadArgument("must specify a runtime");
  if (!container.has_spec()) return BadArgument("container.Spec must be set");
  if (!container.snapshot_key().empty() && container.snapshotter().empty()) {
    return BadArgument("container.Snapshotter must be set if container.SnapshotKey is set");
  }
  return absl::OkStatus();
}

absl::StatusOr<Container> ContainerStore::Get(const std::string& ns, const std::string& id) {
  ASSIGN_OR_RETURN(std::string record, GetRecord(ns, id));
  Container container;
  if (!container.ParseFromString(record)) return CorruptRecord(ContainerKey(ns, id));
  return container;
}

absl::StatusOr<std::string> ContainerStore::GetRecord(const std::string& ns,
                                                      const std::string& id) {
  RETURN_IF_ERROR(Annotate(ValidateIdentifier(id), "container.ID"));
  std::optional<std::string> record;
  RETURN_IF_ERROR(db_.View([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(record, txn.Get(ContainerKey(ns, id)));
    return record.has_value() ? absl::OkStatus() : ContainerNotFound(ns, id);
  }));
  return std::move(*record);
}

absl::Status ContainerStore::Scan(
    const std::string& ns, bool parse,
    absl::FunctionRef<bool(absl::string_view record, Container& container)> fn) {
  absl::Status parse_error;
  RETURN_IF_ERROR(db_.View([&](Txn& txn) {
    return txn.Scan(KindPrefix(ns, kContainersKind),
                    [&](absl::string_view key, absl::string_view value) {
                      Container container;
                      if (parse &&
                          !container.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
                        parse_error = CorruptRecord(key);
                        return false;
                      }
                      return fn(value, container);
                    },
                    /*cached=*/false);  // a namespace may hold 10,000 records (14 MB)
  }));
  return parse_error;
}

absl::Status ContainerStore::Walk(const std::string& ns,
                                  const std::function<bool(const Container&)>& match,
                                  const std::function<bool(Container&)>& fn) {
  return Scan(ns, /*parse=*/true, [&](absl::string_view, Container& container) {
    return !match(container) || fn(container);
  });
}

absl::Status ContainerStore::WalkRecords(const std::string& ns,
                                         const std::function<bool(const Container&)>& match,
                                         absl::FunctionRef<void(absl::string_view)> fn) {
  return Scan(ns, /*parse=*/static_cast<bool>(match),
              [&](absl::string_view record, Container& container) {
                if (!match || match(container)) fn(record);
                return true;
              });
}

absl::StatusOr<std::vector<Container>> ContainerStore::List(
    const std::string& ns, const std::function<bool(const Container&)>& match) {
  std::vector<Container> out;
  RETURN_IF_ERROR(Walk(ns, match, [&](Container& container) {
    out.push_back(std::move(container));
    return true;
  }));
  return out;
}

absl::StatusOr<Container> ContainerStore::Create(const std::string& ns, Container container) {
  RETURN_IF_ERROR(ValidateContainer(container));
  DropEmptyValues(*container.mutable_labels());
  *container.mutable_created_at() = services::Now();
  *container.mutable_updated_at() = container.created_at();
  RETURN_IF_ERROR(db_.Update([&](Txn& txn) -> absl::Status {
    std::string key = ContainerKey(ns, container.id());
    ASSIGN_OR_RETURN(std::optional<std::string> existing, txn.Get(key));
    if (existing) return AlreadyExists(absl::StrCat("container \"", container.id(), "\""));
    RETURN_IF_ERROR(EnsureNamespace(txn, ns));
    return WriteRecord(txn, key, container);
  }));
  return container;
}

absl::StatusOr<Container> ContainerStore::Update(const std::string& ns, const Container& container,
                                                 const std::vector<std::string>& paths) {
  if (container.id().empty()) return BadArgument("must specify a container id");
  RETURN_IF_ERROR(Annotate(ValidateIdentifier(container.id()), "container.ID"));
  Container updated;
  RETURN_IF_ERROR(db_.Update([&](Txn& txn) -> absl::Status {
    std::string key = ContainerKey(ns, container.id());
    updated.Clear();
    ASSIGN_OR_RETURN(bool found, ReadRecord(txn, key, updated));
    if (!found) return ContainerNotFound(ns, container.id());
    std::vector<std::string> effective = paths;
    if (effective.empty()) {
      effective = {"labels", "spec", "extensions", "image", "snapshotkey"};
      if (updated.snapshotter() != container.snapshotter()) {
        return BadArgument("container.Snapshotter field is immutable");
      }
      if (updated.runtime().name() != container.runtime().name()) {
        return BadArgument("container.Runtime.Name field is immutable");
      }
    }
    for (const std::string& path : effective) RETURN_IF_ERROR(ApplyPath(path, container, updated));
    DropEmptyValues(*updated.mutable_labels());
    RETURN_IF_ERROR(ValidateContainer(updated));
    *updated.mutable_updated_at() = services::Now();
    return WriteRecord(txn, key, updated);
  }));
  return updated;
}

absl::Status ContainerStore::Delete(const std::string& ns, const std::string& id) {
  RETURN_IF_ERROR(Annotate(ValidateIdentifier(id), "container.ID"));
  return db_.Update([&](Txn& txn) -> absl::Status {
    std::string key = ContainerKey(ns, id);
    ASSIGN_OR_RETURN(std::optional<std::string> existing, txn.Get(key));
    if (!existing) return ContainerNotFound(ns, id);
    return txn.Delete(key);
  });
}

}  // namespace berth::metadata
