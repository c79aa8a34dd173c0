// Garbage collection of backend snapshots no metadata record refers to
// (SnapshotStore::RemoveOrphans, run by every collection), on the native snapshotter.

#include <atomic>
#include <set>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "gmock/gmock.h"
#include "services/metadata/snapshots.h"
#include "snapshotter/native/native_snapshotter.h"
#include "tests/images/fixture.h"

namespace berth::metadata {
namespace {

class SnapshotGcTest : public MetadataFixture {
 protected:
  void SetUp() override {
    MetadataFixture::SetUp();
    auto native = snapshotter::native::NativeSnapshotter::Create(dir_->path() + "/native");
    ASSERT_TRUE(native.ok()) << native.status();
    native_ = *std::move(native);
    stores_.Add(std::make_unique<SnapshotStore>(*db_, "native", *native_));
    stores_.AttachTo(*collector_);
    store_ = *stores_.Get("native");
    // Everything the tests make through the store is held by this lease; the collection's
    // ordinary sweep would take unreferenced snapshots, which is not what is tested here.
    Lease lease;
    lease.set_id("held");
    ASSERT_TRUE(leases_->Create("a", lease).ok());
  }

  absl::Status Prepare(const std::string& key, const std::string& parent = "") {
    return store_->Prepare("a", key, parent, {}, "held").status();
  }
  absl::Status Commit(const std::string& name, const std::string& key) {
    return store_->Commit("a", name, key, {}, "held");
  }

  // Backend snapshot names, as the backend lists them.
  std::set<std::string> BackendNames() {
    std::set<std::string> names;
    EXPECT_TRUE(native_
                    ->Walk([&](const SnapshotInfo& info) {
                      names.insert(info.name);
                      return absl::OkStatus();
                    })
                    .ok());
    return names;
  }

  std::unique_ptr<snapshotter::native::NativeSnapshotter> native_;
  SnapshotStores stores_;  // destroyed before the collector (declared after it)
  SnapshotStore* store_ = nullptr;
};

TEST_F(SnapshotGcTest, BackendSnapshotsWithoutARecordAreRemovedChildrenFirst) {
  // Referenced: an active snapshot, and a committed parent with an active child.
  ASSERT_TRUE(Prepare("kept").ok());
  ASSERT_TRUE(Prepare("base-active").ok());
  ASSERT_TRUE(Commit("base", "base-active").ok());
  ASSERT_TRUE(Prepare("child", "base").ok());
  std::set<std::string> referenced = BackendNames();
  ASSERT_EQ(referenced.size(), 3u);
  // What a daemon killed between removing the records and the backend snapshots leaves: a
  // committed parent and its child in the store's key format, with no record.
  ASSERT_TRUE(native_->Prepare("a/900/orphan-active", "", {}).ok());
  ASSERT_TRUE(native_->Commit("a/901/orphan", "a/900/orphan-active", {}).ok());
  ASSERT_TRUE(native_->Prepare("a/902/orphan-child", "a/901/orphan", {}).ok());
  // Made on the backend directly, not in the store's format: not the collector's.
  ASSERT_TRUE(native_->Prepare("made-directly", "", {}).ok());

  GcStats stats = Collect();
  EXPECT_EQ(stats.backend_snapshots, 2);
  std::set<std::string> left = BackendNames();
  std::set<std::string> want = referenced;
  want.insert("made-directly");
  EXPECT_EQ(left, want);
  EXPECT_TRUE(absl::IsNotFound(native_->Stat("a/901/orphan").status()));
  EXPECT_TRUE(store_->Mounts("a", "child").ok());
  EXPECT_TRUE(store_->Mounts("a", "kept").ok());
  // Later collections sweep only when orphans can exist (after start-up, after a failed
  // backend remove); Snapshots.Cleanup always does.
  ASSERT_TRUE(native_->Prepare("a/903/late-orphan", "", {}).ok());
  EXPECT_EQ(Collect().backend_snapshots, 0);
  EXPECT_TRUE(native_->Stat("a/903/late-orphan").ok());
  EXPECT_TRUE(store_->Cleanup().ok());
  EXPECT_EQ(BackendNames(), want);
}

TEST_F(SnapshotGcTest, SnapshotsBeingCreatedAreNeverTaken) {
  // Orphan sweeps run back to back while snapshots are prepared and committed: between the
  // backend call and the record's commit a snapshot has no record, and a sweep there must
  // wait rather than take it.
  std::atomic<bool> done{false};
  std::atomic<int> collections{0};
  std::thread collector([&] {
    while (!done.load()) {
      // The sweep itself: a collection runs it only after start-up and failed removes.
      absl::StatusOr<int> removed = store_->RemoveOrphans();
      EXPECT_TRUE(removed.ok()) << removed.status();
      if (removed.ok()) {
        EXPECT_EQ(*removed, 0);
      }
      ++collections;
    }
  });
  absl::Cleanup stop = [&] {
    done = true;
    collector.join();
  };
  // At least 150 rounds, and on until 20 collections have run beside them (a loaded machine
  // runs fewer per round).
  int rounds = 0;
  for (int i = 0; i < 150 || (collections.load() < 20 && i < 3000); ++i, ++rounds) {
    std::string key = "p" + std::to_string(i);
    ASSERT_TRUE(Prepare(key + "-active").ok()) << i;
    ASSERT_TRUE(Commit(key, key + "-active").ok()) << i;
    ASSERT_TRUE(Prepare(key + "-child", key).ok()) << i;
    EXPECT_TRUE(store_->Mounts("a", key + "-child").ok()) << i;
  }
  std::move(stop).Invoke();
  EXPECT_GE(collections.load(), 20);
  EXPECT_EQ(BackendNames().size(), 2u * rounds);
}

}  // namespace
}  // namespace berth::metadata
