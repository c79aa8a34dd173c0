#pragma once

// The metadata key schema: one RocksDB database (<root>/io.containerd.metadata.v1.rocksdb/
// meta.db), default column family, keys made of components joined by a NUL byte (names and
// ids are validated to contain none), values are serialized protobuf messages of containerd's
// API types, so a record is read and written whole.
//
//   schema_version                                   -> "1"
//   ns \0 <namespace>                                -> namespaces.v1.Namespace (labels)
//   v1 \0 <namespace> \0 containers \0 <id>          -> containers.v1.Container
//   v1 \0 <namespace> \0 leases \0 <id>              -> leases.v1.Lease
//   v1 \0 <namespace> \0 lease_res \0 <id> \0 <type> \0 <resource id>   -> "" (lease resource)
//   v1 \0 <namespace> \0 images \0 <name>              -> images.v1.Image
//   v1 \0 <namespace> \0 content \0 <digest>           -> content.v1.Info (size, times, labels)
//   v1 \0 <namespace> \0 ingests \0 <ref>              -> berth.metadata.v1.Ingest
//   v1 \0 <namespace> \0 snapshots \0 <snapshotter> \0 <key>  -> berth.metadata.v1.Snapshot
//   v1 \0 <namespace> \0 snapshot_children \0 <snapshotter> \0 <parent key> \0 <child key> -> ""
//
// Every object lives under `v1 \0 <namespace> \0`, so "is this namespace empty" is one seek.
// A namespace record is written in the same batch as the first object of the namespace.
//
// Update this comment and add a migration (bump kSchemaVersion) whenever the layout changes.

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace berth::metadata {

inline constexpr char kSchemaVersionKey[] = "schema_version";
inline constexpr char kSchemaVersion[] = "1";

inline constexpr char kContainersKind[] = "containers";
inline constexpr char kLeasesKind[] = "leases";
inline constexpr char kLeaseResourcesKind[] = "lease_res";
inline constexpr char kImagesKind[] = "images";
inline constexpr char kContentKind[] = "content";
inline constexpr char kIngestsKind[] = "ingests";
inline constexpr char kSnapshotsKind[] = "snapshots";
inline constexpr char kSnapshotChildrenKind[] = "snapshot_children";

// Joins key components with NUL separators.
template <typename... Parts>
std::string Key(const Parts&... parts) {
  std::string key;
  auto add = [&key](absl::string_view part) {
    key.append(part.data(), part.size());
    key.push_back('\0');
  };
  (add(parts), ...);
  key.pop_back();
  return key;
}

inline std::string NamespaceKey(absl::string_view ns) { return Key("ns", ns); }
inline std::string NamespacesPrefix() { return Key("ns", ""); }
// Prefix of every object in `ns` (ends with a separator).
inline std::string NamespaceObjectsPrefix(absl::string_view ns) { return Key("v1", ns, ""); }
inline std::string ObjectKey(absl::string_view ns, absl::string_view kind, absl::string_view id) {
  return Key("v1", ns, kind, id);
}
// Prefix of every object of `kind` in `ns` (ends with a separator).
inline std::string KindPrefix(absl::string_view ns, absl::string_view kind) {
  return Key("v1", ns, kind, "");
}

// Lease records and their resource references; every store that attaches resources to a lease
// (content, ingests, snapshots) builds its keys here.
inline std::string LeaseKey(absl::string_view ns, absl::string_view id) {
  return ObjectKey(ns, kLeasesKind, id);
}
inline std::string LeaseResourcesPrefix(absl::string_view ns, absl::string_view lease) {
  return Key("v1", ns, kLeaseResourcesKind, lease, "");
}
inline std::string LeaseResourceKey(absl::string_view ns, absl::string_view lease,
                                    absl::string_view type, absl::string_view id) {
  return Key("v1", ns, kLeaseResourcesKind, lease, type, id);
}

}  // namespace berth::metadata
