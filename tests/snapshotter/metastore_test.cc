#include "snapshotter/storage/metastore.h"

#include <optional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/temp_dir.h"

namespace berth::snapshotter::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;
using Txn = MetaStore::Transaction;

class MetaStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create("/tmp", "metastore-test-");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(*dir));
    Reopen();
  }
  void Reopen() {
    ms_.reset();
    auto ms = MetaStore::Open(JoinPath(dir_->path(), "metadata"));
    ASSERT_TRUE(ms.ok()) << ms.status();
    ms_ = std::move(*ms);
  }
  absl::StatusOr<Snapshot> Create(Kind kind, const std::string& key, const std::string& parent,
                                  const Labels& labels = {}) {
    Snapshot s;
    RETURN_IF_ERROR(ms_->Update([&](Txn& t) -> absl::Status {
      ASSIGN_OR_RETURN(s, t.CreateSnapshot(kind, key, parent, labels));
      return absl::OkStatus();
    }));
    return s;
  }
  absl::Status Commit(const std::string& key, const std::string& name, Usage usage = {}) {
    return ms_->Update([&](Txn& t) { return t.CommitActive(key, name, usage, {}).status(); });
  }
  absl::Status Remove(const std::string& key) {
    return ms_->Update([&](Txn& t) { return t.Remove(key).status(); });
  }
  absl::StatusOr<Record> Get(const std::string& key) {
    Record r;
    RETURN_IF_ERROR(ms_->View([&](Txn& t) -> absl::Status {
      ASSIGN_OR_RETURN(r, t.GetInfo(key));
      return absl::OkStatus();
    }));
    return r;
  }

  std::optional<ScopedTempDir> dir_;
  std::unique_ptr<MetaStore> ms_;
};

TEST_F(MetaStoreTest, IdsAreSmallSequentialIntegers) {
  auto a = Create(Kind::kActive, "a", "");
  auto b = Create(Kind::kView, "b", "");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->id, "1");
  EXPECT_EQ(b->id, "2");
  ASSERT_TRUE(Remove("b").ok());
  ASSERT_NO_FATAL_FAILURE(Reopen());
  auto c = Create(Kind::kActive, "c", "");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->id, "3") << "ids are never reused, even after a restart";
}

TEST_F(MetaStoreTest, ParentChainNearestFirst) {
  ASSERT_TRUE(Create(Kind::kActive, "a", "").ok());
  ASSERT_TRUE(Commit("a", "A", {3, 4096}).ok());
  ASSERT_TRUE(Create(Kind::kActive, "b", "A").ok());
  ASSERT_TRUE(Commit("b", "B").ok());
  auto c = Create(Kind::kActive, "c", "B");
  ASSERT_TRUE(c.ok());
  EXPECT_THAT(c->parent_ids, ElementsAre("2", "1"));
  ASSERT_TRUE(ms_->View([&](Txn& t) -> absl::Status {
                   ASSIGN_OR_RETURN(Snapshot s, t.GetSnapshot("c"));
                   EXPECT_THAT(s.parent_ids, ElementsAre("2", "1"));
                   EXPECT_TRUE(absl::IsFailedPrecondition(t.GetSnapshot("A").status()));
                   return absl::OkStatus();
                 })
                  .ok());
  auto committed = Get("A");
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(committed->id, "1");
  EXPECT_EQ(committed->usage.inodes, 3);
  EXPECT_EQ(committed->usage.size, 4096);
}

TEST_F(MetaStoreTest, Errors) {
  ASSERT_TRUE(Create(Kind::kActive, "a", "").ok());
  EXPECT_TRUE(absl::IsAlreadyExists(Create(Kind::kView, "a", "").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Create(Kind::kCommitted, "x", "").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Create(Kind::kActive, "", "").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Create(Kind::kActive, "x", "a").status()));
  EXPECT_TRUE(absl::IsNotFound(Create(Kind::kActive, "x", "nope").status()));
  EXPECT_TRUE(absl::IsNotFound(Commit("nope", "N")));
  ASSERT_TRUE(Create(Kind::kView, "v", "").ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(Commit("v", "V")));
  EXPECT_TRUE(absl::IsAlreadyExists(Commit("a", "v")));
  EXPECT_TRUE(absl::IsInvalidArgument(Commit("a", "")));
  EXPECT_TRUE(absl::IsNotFound(Remove("nope")));
}

TEST_F(MetaStoreTest, RemoveRefusesParentsWithChildrenAndTracksCommitRenames) {
  ASSERT_TRUE(Create(Kind::kActive, "a", "").ok());
  ASSERT_TRUE(Commit("a", "A").ok());
  ASSERT_TRUE(Create(Kind::kActive, "b", "A").ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(Remove("A")));
  ASSERT_TRUE(Commit("b", "B").ok());  // the child link follows the rename
  EXPECT_TRUE(absl::IsFailedPrecondition(Remove("A")));
  ASSERT_TRUE(Remove("B").ok());
  EXPECT_TRUE(Remove("A").ok());
  auto ids = [&] {
    absl::flat_hash_map<std::string, std::string> out;
    EXPECT_TRUE(ms_->View([&](Txn& t) -> absl::Status {
                     ASSIGN_OR_RETURN(out, t.IdMap());
                     return absl::OkStatus();
                   })
                    .ok());
    return out;
  }();
  EXPECT_TRUE(ids.empty());
}

TEST_F(MetaStoreTest, FailedUpdateLeavesNoTrace) {
  absl::Status status = ms_->Update([&](Txn& t) -> absl::Status {
    RETURN_IF_ERROR(t.CreateSnapshot(Kind::kActive, "a", "", {}).status());
    // Reads in the same transaction see the write.
    EXPECT_TRUE(t.GetInfo("a").ok());
    return absl::InternalError("rename failed");
  });
  EXPECT_TRUE(absl::IsInternal(status));
  EXPECT_TRUE(absl::IsNotFound(Get("a").status()));
  auto a = Create(Kind::kActive, "a", "");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->id, "1") << "the aborted transaction did not consume an id";
}

TEST_F(MetaStoreTest, ViewIsReadOnly) {
  absl::Status status =
      ms_->View([&](Txn& t) { return t.CreateSnapshot(Kind::kActive, "a", "", {}).status(); });
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(absl::IsNotFound(Get("a").status()));
}

TEST_F(MetaStoreTest, LabelsUpdateAndPersist) {
  ASSERT_TRUE(Create(Kind::kActive, "a", "", {{"x", "1"}, {"empty", ""}}).ok());
  auto r = Get("a");
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->info.labels, UnorderedElementsAre(Pair("x", "1")));
  SnapshotInfo info;
  info.name = "a";
  info.labels = {{"y", "2"}};
  std::vector<std::string> paths = {"labels.y", "labels.x"};
  ASSERT_TRUE(ms_->Update([&](Txn& t) { return t.UpdateInfo(info, paths).status(); }).ok());
  ASSERT_NO_FATAL_FAILURE(Reopen());
  r = Get("a");
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->info.labels, UnorderedElementsAre(Pair("y", "2")));
  EXPECT_GE(r->info.updated_at, r->info.created_at);
  EXPECT_EQ(r->info.kind, Kind::kActive);
}

TEST_F(MetaStoreTest, WalkSeesEverySnapshot) {
  ASSERT_TRUE(Create(Kind::kActive, "a", "").ok());
  ASSERT_TRUE(Commit("a", "A").ok());
  ASSERT_TRUE(Create(Kind::kView, "v/with/slashes", "A").ok());
  std::vector<std::string> names;
  ASSERT_TRUE(ms_->View([&](Txn& t) {
                   return t.WalkInfo([&](const Record& r) {
                     names.push_back(r.info.name);
                     return absl::OkStatus();
                   });
                 })
                  .ok());
  EXPECT_THAT(names, UnorderedElementsAre("A", "v/with/slashes"));
}

TEST(KindTest, NamesRoundTrip) {
  for (Kind k : {Kind::kView, Kind::kActive, Kind::kCommitted}) {
    EXPECT_EQ(ParseKind(KindName(k)), k);
  }
  EXPECT_EQ(ParseKind("committed"), Kind::kCommitted);
  EXPECT_EQ(ParseKind("bogus"), Kind::kUnknown);
  EXPECT_EQ(KindName(Kind::kUnknown), "Unknown");
}

}  // namespace
}  // namespace berth::snapshotter::storage
