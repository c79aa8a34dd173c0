#pragma once

// A temp metadata database + local content store + namespaced content layer, and helpers that
// write blobs and images through them.

#include <memory>
#include <string>

#include "content/local/local_store.h"
#include "gtest/gtest.h"
#include "plugins/base/temp_dir.h"
#include "services/metadata/content.h"
#include "services/metadata/db.h"
#include "services/metadata/gc.h"
#include "services/metadata/images.h"
#include "services/metadata/leases.h"

namespace berth::metadata {

class MetadataFixture : public ::testing::Test {
 public:  // free helpers such as PutTree build trees through these
  void SetUp() override {
    auto dir = ScopedTempDir::Create("/tmp", "berth-img-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = std::make_unique<ScopedTempDir>(*std::move(dir));
    auto db = Db::Open(dir_->path() + "/meta.db", DbOptions{.sync_writes = false});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    auto backend = content::local::LocalContentStore::Create(dir_->path() + "/content");
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = *std::move(backend);
    content_ = std::make_unique<ContentMetadata>(*db_, *backend_);
    images_ = std::make_unique<ImageStore>(*db_);
    leases_ = std::make_unique<LeaseStore>(*db_);
    collector_ = std::make_unique<Collector>(*db_, content_.get());
  }

  // Writes `data` as a blob in `ns` (optionally under a lease) with `labels`.
  std::string Put(const std::string& ns, const std::string& data,
                  const content::Labels& labels = {},
                  std::optional<std::string> lease = std::nullopt) {
    content::Digest digest = content::Digest::FromBytes(data);
    auto writer = content_->OpenWriter({ns, lease}, "ref-" + digest.string(),
                                       static_cast<int64_t>(data.size()), digest.string());
    if (absl::IsAlreadyExists(writer.status())) return digest.string();
    EXPECT_TRUE(writer.ok()) << writer.status();
    if (!writer.ok()) return "";
    if ((*writer)->Status().offset() == 0) {
      EXPECT_TRUE((*writer)->Write(data).ok());
    }
    absl::Status status = (*writer)->Commit(static_cast<int64_t>(data.size()), digest, labels);
    EXPECT_TRUE(status.ok() || absl::IsAlreadyExists(status)) << status;
    return digest.string();
  }

  void CreateImage(const std::string& ns, const std::string& name, const std::string& digest,
                   int64_t size) {
    Image image;
    image.set_name(name);
    image.mutable_target()->set_digest(digest);
    image.mutable_target()->set_size(size);
    image.mutable_target()->set_media_type("application/vnd.oci.image.manifest.v1+json");
    ASSERT_TRUE(images_->Create(ns, image).ok());
  }

  bool OnDisk(const std::string& digest) {
    return backend_->Info(*content::Digest::Parse(digest)).ok();
  }
  bool Visible(const std::string& ns, const std::string& digest) {
    return content_->Info(ns, digest).ok();
  }
  GcStats Collect() {
    auto stats = collector_->Collect();
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() ? *stats : GcStats{};
  }

  std::unique_ptr<ScopedTempDir> dir_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<content::local::LocalContentStore> backend_;
  std::unique_ptr<ContentMetadata> content_;
  std::unique_ptr<ImageStore> images_;
  std::unique_ptr<LeaseStore> leases_;
  std::unique_ptr<Collector> collector_;
};

}  // namespace berth::metadata
