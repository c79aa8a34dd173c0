#pragma once

// Namespaces in the metadata database. A namespace exists once it is created explicitly or an
// object is first written into it (EnsureNamespace, called inside that object's transaction).
// It can be deleted only when it holds nothing.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/services/namespaces/v1/namespaces.pb.h"
#include "services/metadata/db.h"

namespace berth::metadata {

using Namespace = containerd::services::namespaces::v1::Namespace;

// Creates the namespace record in `txn` if it is missing (no labels).
absl::Status EnsureNamespace(Txn& txn, absl::string_view ns);

// The names of every namespace, read in `txn`.
absl::StatusOr<std::vector<std::string>> NamespaceNames(Txn& txn);

class NamespaceStore {
 public:
  explicit NamespaceStore(Db& db) : db_(db) {}

  // The namespace with its labels; an unknown namespace has no labels (never NotFound, as in
  // containerd, whose clients call Get to read default-runtime labels of any namespace).
  absl::StatusOr<Namespace> Get(const std::string& name);
  absl::StatusOr<std::vector<Namespace>> List();
  // InvalidArgument for a bad name or label; AlreadyExists if it exists.
  absl::Status Create(const Namespace& ns);
  // Sets the labels named by `paths` ("labels.<key>"; an empty value removes the key), or
  // replaces all labels when `paths` is empty. Creates the namespace if needed.
  absl::StatusOr<Namespace> Update(const Namespace& ns, const std::vector<std::string>& paths);
  // NotFound if unknown; FailedPrecondition if it still holds objects.
  absl::Status Delete(const std::string& name);

 private:
  Db& db_;
};

}  // namespace berth::metadata
