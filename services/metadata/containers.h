#pragma once

// Container records in the metadata database, with containerd's validation and update rules.
// Records are containerd.services.containers.v1.Container messages; spec, runtime options and
// extensions are google.protobuf.Any values kept byte for byte as the client sent them.

#include <functional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "containerd/services/containers/v1/containers.pb.h"
#include "services/metadata/db.h"

namespace berth::metadata {

using Container = containerd::services::containers::v1::Container;

class ContainerStore {
 public:
  explicit ContainerStore(Db& db) : db_(db) {}

  // NotFound if `id` is not in `ns`.
  absl::StatusOr<Container> Get(const std::string& ns, const std::string& id);
  // The same record as its stored wire bytes (a serialized Container), for a response that
  // passes it through unparsed.
  absl::StatusOr<std::string> GetRecord(const std::string& ns, const std::string& id);
  // Every container of `ns` for which `match` is true, in id order.
  absl::StatusOr<std::vector<Container>> List(
      const std::string& ns, const std::function<bool(const Container&)>& match);
  // Streams the same set to `fn` without holding them all; stops when fn returns false. `fn`
  // may take the record (Swap it into a response) instead of copying it.
  absl::Status Walk(const std::string& ns, const std::function<bool(const Container&)>& match,
                    const std::function<bool(Container&)>& fn);
  // Like Walk, but hands `fn` each matching record as its stored wire bytes (a serialized
  // Container), for responses that pass records through. An empty `match` takes every record
  // without parsing it.
  absl::Status WalkRecords(const std::string& ns,
                           const std::function<bool(const Container&)>& match,
                           absl::FunctionRef<void(absl::string_view)> fn);
  // Validates and stores a new container; sets created_at/updated_at.
  // InvalidArgument (bad id, labels, no runtime name, no spec, snapshot key without
  // snapshotter), AlreadyExists.
  absl::StatusOr<Container> Create(const std::string& ns, Container container);
  // Applies `paths` (labels, labels.<k>, spec, extensions, extensions.<k>, image, snapshotkey)
  // from `container` onto the stored record; no paths = replace those fields, with runtime
  // name and snapshotter immutable. NotFound, InvalidArgument.
  absl::StatusOr<Container> Update(const std::string& ns, const Container& container,
                                   const std::vector<std::string>& paths);
  // NotFound if absent.
  absl::Status Delete(const std::string& ns, const std::string& id);

 private:
  // Calls fn(stored bytes, record) for each container of `ns` until it returns false; the
  // record is parsed only if `parse` (else it is empty).
  absl::Status Scan(const std::string& ns, bool parse,
                    absl::FunctionRef<bool(absl::string_view record, Container& container)> fn);

  Db& db_;
};

// containerd's validateContainer.
absl::Status ValidateContainer(const Container& container);

}  // namespace berth::metadata
