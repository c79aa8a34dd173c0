#pragma once

// The metadata plugin (io.containerd.metadata.v1.rocksdb): the RocksDB database and the stores
// built on it. Services get it with context.Get<metadata::Metadata>(kMetadataPlugin).
//
// Config section [plugins."io.containerd.metadata.v1.rocksdb"]:
//   sync_writes = true   # fsync the write-ahead log on every commit

#include <memory>

#include "plugins/registry.h"
#include "services/metadata/containers.h"
#include "services/metadata/db.h"
#include "services/metadata/leases.h"
#include "services/metadata/namespaces.h"

namespace berth::metadata {

class Metadata {
 public:
  explicit Metadata(std::unique_ptr<Db> db)
      : db_(std::move(db)), namespaces_(*db_), containers_(*db_), leases_(*db_) {}

  Db& db() { return *db_; }
  NamespaceStore& namespaces() { return namespaces_; }
  ContainerStore& containers() { return containers_; }
  LeaseStore& leases() { return leases_; }

 private:
  std::unique_ptr<Db> db_;
  NamespaceStore namespaces_;
  ContainerStore containers_;
  LeaseStore leases_;
};

void RegisterMetadataPlugin(plugins::Registry& registry);

}  // namespace berth::metadata
