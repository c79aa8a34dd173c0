#pragma once

// The metadata plugin (io.containerd.metadata.v1.rocksdb): the RocksDB database and the stores
// built on it. Services get it with context.Get<metadata::Metadata>(kMetadataPlugin).
//
// It requires the content plugin (io.containerd.content.v1): with a content store loaded,
// content() is the namespaced content layer over it (null without one).
//
// Config section [plugins."io.containerd.metadata.v1.rocksdb"]:
//   sync_writes = true   # fsync the write-ahead log on every commit

#include <memory>

#include "plugins/registry.h"
#include "content/content_store.h"
#include "services/metadata/containers.h"
#include "services/metadata/content.h"
#include "services/metadata/db.h"
#include "services/metadata/images.h"
#include "services/metadata/leases.h"
#include "services/metadata/namespaces.h"

namespace berth::metadata {

class Metadata {
 public:
  explicit Metadata(std::unique_ptr<Db> db, content::ContentStore* backend = nullptr)
      : db_(std::move(db)),
        namespaces_(*db_),
        containers_(*db_),
        leases_(*db_),
        images_(*db_),
        content_(backend != nullptr ? std::make_unique<ContentMetadata>(*db_, *backend)
                                    : nullptr) {}

  Db& db() { return *db_; }
  NamespaceStore& namespaces() { return namespaces_; }
  ContainerStore& containers() { return containers_; }
  LeaseStore& leases() { return leases_; }
  ImageStore& images() { return images_; }
  ContentMetadata* content() { return content_.get(); }

 private:
  std::unique_ptr<Db> db_;
  NamespaceStore namespaces_;
  ContainerStore containers_;
  LeaseStore leases_;
  ImageStore images_;
  std::unique_ptr<ContentMetadata> content_;
};

void RegisterMetadataPlugin(plugins::Registry& registry);

}  // namespace berth::metadata
