#include "tests/conformance/content_conformance.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "content/helpers.h"
#include "gmock/gmock.h"

namespace berth::content::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

#define ASSERT_OK(expr) ASSERT_TRUE((expr).ok()) << (expr)
#define EXPECT_CODE(expr, want) EXPECT_EQ((expr).code(), absl::StatusCode::want) << (expr)

// Deterministic pseudo-random content, different on every call (containerd createContent).
std::pair<std::string, Digest> CreateContent(size_t size) {
  static std::atomic<uint64_t> seed{1};
  std::mt19937_64 rng(seed.fetch_add(1));
  std::string data(size, '\0');
  for (char& c : data) {
    c = static_cast<char>(rng());
  }
  Digest digest = Digest::FromBytes(data);
  return {std::move(data), std::move(digest)};
}

void WriteChunks(ContentWriter& w, absl::string_view data, size_t chunk) {
  for (size_t i = 0; i < data.size(); i += chunk) {
    absl::Status s = w.Write(data.substr(i, chunk));
    ASSERT_TRUE(s.ok()) << s;
  }
}

std::unique_ptr<ContentWriter> MustOpen(ContentStore& store, absl::string_view ref,
                                        int64_t size = 0, const Digest& expected = {}) {
  absl::StatusOr<std::unique_ptr<ContentWriter>> w = store.OpenWriter(ref, size, expected);
  EXPECT_TRUE(w.ok()) << w.status();
  return w.ok() ? *std::move(w) : nullptr;
}

void ExpectUnavailable(ContentStore& store, absl::string_view ref) {
  absl::StatusOr<std::unique_ptr<ContentWriter>> w = store.OpenWriter(ref, 0, {});
  EXPECT_EQ(w.status().code(), absl::StatusCode::kUnavailable) << w.status();
}

}  // namespace

std::string ContentStoreFactoryName(const ::testing::TestParamInfo<ContentStoreFactory>& info) {
  return info.param.name;
}

void ContentStoreConformance::SetUp() {
  absl::StatusOr<ScopedTempDir> dir = ScopedTempDir::Create(::testing::TempDir(), "content-");
  ASSERT_TRUE(dir.ok()) << dir.status();
  dir_.emplace(*std::move(dir));
  auto store = GetParam().create(dir_->path());
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);
}

void ContentStoreConformance::TearDown() { store_.reset(); }

void ContentStoreConformance::Reopen() {
  store_.reset();
  auto store = GetParam().create(dir_->path());
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);
}

// Every combination of expected size/digest given or not; 32-byte writes; Commit(0, "").
TEST_P(ContentStoreConformance, Writer) {
  for (int variant = 0; variant < 4; ++variant) {
    auto [data, digest] = CreateContent(256);
    int64_t size = (variant & 1) ? 256 : 0;
    Digest expected = (variant & 2) ? digest : Digest();
    auto w = MustOpen(store(), absl::StrCat("c", variant), size, expected);
    ASSERT_NE(w, nullptr);
    WriteChunks(*w, data, 32);
    absl::Time pre = absl::Now();
    ASSERT_OK(w->Commit(0, {}, {}));
    absl::Time post = absl::Now();
    EXPECT_EQ(w->Digest(), digest);
    absl::StatusOr<Info> info = store().Info(digest);
    ASSERT_OK(info.status());
    EXPECT_EQ(info->digest, digest);
    EXPECT_EQ(info->size, 256);
    EXPECT_GE(info->created_at, pre);
    EXPECT_LE(info->created_at, post);
    absl::StatusOr<std::string> read = ReadBlob(store(), digest);
    ASSERT_OK(read.status());
    EXPECT_EQ(*read, data);
  }
}

TEST_P(ContentStoreConformance, UpdateStatus) {
  auto [data, digest] = CreateContent(256);
  absl::Time pre_start = absl::Now();
  auto w = MustOpen(store(), "c1", 256, digest);
  ASSERT_NE(w, nullptr);
  absl::Time post_start = absl::Now();
  Status st = w->Status();
  EXPECT_EQ(st.ref, "c1");
  EXPECT_EQ(st.offset, 0);
  EXPECT_EQ(st.total, 256);
  EXPECT_EQ(st.expected, digest);
  EXPECT_GE(st.started_at, pre_start);
  EXPECT_LE(st.started_at, post_start);
  EXPECT_EQ(w->Digest(), Digest::FromBytes(""));

  for (auto [from, to] : {std::pair{0, 64}, {64, 192}, {192, 256}}) {
    absl::Time pre = absl::Now();
    ASSERT_OK(w->Write(absl::string_view(data).substr(from, to - from)));
    absl::Time post = absl::Now();
    st = w->Status();
    EXPECT_EQ(st.offset, to);
    EXPECT_EQ(st.total, 256);
    EXPECT_GE(st.updated_at, pre);
    EXPECT_LE(st.updated_at, post);
    EXPECT_EQ(w->Digest(), Digest::FromBytes(absl::string_view(data).substr(0, to)));
    // The store reports the same progress while the writer is alive.
    absl::StatusOr<Status> from_store = store().Status("c1");
    ASSERT_OK(from_store.status());
    EXPECT_EQ(from_store->offset, to);
    EXPECT_EQ(from_store->total, 256);
  }
  ASSERT_OK(w->Commit(256, digest, {}));
  EXPECT_CODE(store().Status("c1").status(), kNotFound);
}

TEST_P(ContentStoreConformance, CommitExists) {
  auto [data, digest] = CreateContent(256);
  ASSERT_OK(WriteBlob(store(), "c1", data, digest));
  // Opening with the digest of an existing blob stops at once.
  EXPECT_CODE(store().OpenWriter("other", 256, digest).status(), kAlreadyExists);
  // Without it, the commit finds out.
  for (int i = 0; i < 2; ++i) {
    auto w = MustOpen(store(), absl::StrCat("c1-commitexists-", i));
    ASSERT_NE(w, nullptr);
    ASSERT_OK(w->Write(data));
    EXPECT_CODE(w->Commit(256, i == 0 ? digest : Digest(), {}), kAlreadyExists);
    // The ingest is gone and the ref is free.
    EXPECT_CODE(store().Status(absl::StrCat("c1-commitexists-", i)).status(), kNotFound);
  }
  EXPECT_EQ(*ReadBlob(store(), digest), data);
}

TEST_P(ContentStoreConformance, ResumeAfterWriterDropped) {
  auto [data, digest] = CreateContent(256);
  {
    auto w1 = MustOpen(store(), "cb", 256, digest);
    ASSERT_NE(w1, nullptr);
    ASSERT_OK(w1->Write(absl::string_view(data).substr(0, 128)));
  }
  absl::StatusOr<Status> st = store().Status("cb");
  ASSERT_OK(st.status());
  EXPECT_EQ(st->offset, 128);
  EXPECT_EQ(st->total, 256);
  auto w2 = MustOpen(store(), "cb", 256, digest);
  ASSERT_NE(w2, nullptr);
  EXPECT_EQ(w2->Status().offset, 128);
  EXPECT_EQ(w2->Status().started_at, st->started_at);
  EXPECT_EQ(w2->Digest(), Digest::FromBytes(absl::string_view(data).substr(0, 128)));
  ASSERT_OK(w2->Write(absl::string_view(data).substr(128)));
  EXPECT_EQ(w2->Digest(), digest);
  ASSERT_OK(w2->Commit(0, {}, {}));
  EXPECT_EQ(store().Info(digest)->size, 256);
}

// containerd's ResumeTruncate / ResumeDiscard over sizes and cut points, plus a restart.
TEST_P(ContentStoreConformance, ResumeVariants) {
  for (size_t size : {500, 5000, 50000}) {
    for (double cut : {0.0, 0.1, 0.5, 0.9, 1.0}) {
      for (bool truncate : {false, true}) {
        SCOPED_TRACE(absl::StrCat(size, " ", cut, " ", truncate));
        auto [data, digest] = CreateContent(size);
        size_t limit = static_cast<size_t>(size * cut);
        std::string ref = absl::StrCat("ref-", size, "-", cut, "-", truncate);
        {
          auto w = MustOpen(store(), ref, size, digest);
          ASSERT_NE(w, nullptr);
          WriteChunks(*w, absl::string_view(data).substr(0, limit), 1024);
        }
        if (truncate) {
          Reopen();
        }
        auto w = MustOpen(store(), ref, size, digest);
        ASSERT_NE(w, nullptr);
        ASSERT_EQ(w->Status().offset, static_cast<int64_t>(limit));
        if (truncate) {
          ASSERT_OK(w->Truncate(0));
          EXPECT_EQ(w->Status().offset, 0);
          WriteChunks(*w, data, 1024);
        } else {
          WriteChunks(*w, absl::string_view(data).substr(limit), 1024);
        }
        ASSERT_OK(w->Commit(size, digest, {}));
        EXPECT_EQ(*ReadBlob(store(), digest), data);
      }
    }
  }
}

TEST_P(ContentStoreConformance, TruncateToMiddle) {
  auto [data, digest] = CreateContent(1000);
  auto w = MustOpen(store(), "trunc");
  ASSERT_OK(w->Write(data));
  ASSERT_OK(w->Write("garbage"));
  EXPECT_CODE(w->Truncate(2000), kInvalidArgument);
  EXPECT_CODE(w->Truncate(-1), kInvalidArgument);
  ASSERT_OK(w->Truncate(600));
  EXPECT_EQ(w->Status().offset, 600);
  EXPECT_EQ(w->Digest(), Digest::FromBytes(absl::string_view(data).substr(0, 600)));
  ASSERT_OK(w->Write(absl::string_view(data).substr(600)));
  ASSERT_OK(w->Commit(1000, digest, {}));
}

TEST_P(ContentStoreConformance, SmallBlobAndReadAt) {
  const std::string blob = "foobar";
  Digest digest = Digest::FromBytes(blob);
  ASSERT_OK(WriteBlob(store(), "small", blob, digest));
  auto reader = store().OpenReader(digest);
  ASSERT_OK(reader.status());
  EXPECT_EQ((*reader)->Size(), 6);
  EXPECT_EQ(*(*reader)->ReadAt(0, 7), "foobar");  // more than the blob: short read
  EXPECT_EQ(*(*reader)->ReadAt(3, 2), "ba");
  EXPECT_EQ(*(*reader)->ReadAt(5, 100), "r");
  EXPECT_EQ(*(*reader)->ReadAt(6, 10), "");
  EXPECT_EQ(*(*reader)->ReadAt(100, 10), "");
  EXPECT_CODE((*reader)->ReadAt(-1, 10).status(), kInvalidArgument);
}

TEST_P(ContentStoreConformance, EmptyBlob) {
  Digest empty = Digest::FromBytes("");
  auto w = MustOpen(store(), "empty", 0, empty);
  ASSERT_OK(w->Commit(0, empty, {}));
  EXPECT_EQ(store().Info(empty)->size, 0);
  EXPECT_EQ(*ReadBlob(store(), empty), "");
}

TEST_P(ContentStoreConformance, Labels) {
  auto [data, digest] = CreateContent(64);
  ASSERT_OK(WriteBlob(store(), "labels", data, digest));
  Info update;
  update.digest = digest;
  update.labels = {{"k1", "v1"}, {"k2", "v2"}};
  absl::StatusOr<Info> updated = store().Update(update, {});
  if (!GetParam().stores_labels) {
    EXPECT_CODE(updated.status(), kFailedPrecondition);
    EXPECT_TRUE(store().Info(digest)->labels.empty());
    return;
  }
  ASSERT_OK(updated.status());
  EXPECT_EQ(updated->labels, update.labels);
  update.labels = {{"k1", "changed"}};
  updated = store().Update(update, {"labels.k1", "labels.k2"});
  ASSERT_OK(updated.status());
  EXPECT_EQ(updated->labels, (Labels{{"k1", "changed"}}));
  EXPECT_CODE(store().Update(update, {"size"}).status(), kInvalidArgument);
  update.digest = Digest::FromBytes("absent");
  EXPECT_CODE(store().Update(update, {}).status(), kNotFound);
}

// containerd's CommitErrorState: failed commits close the writer, free the ref and keep the
// ingest; only a successful or AlreadyExists commit ends it.
TEST_P(ContentStoreConformance, CommitErrorState) {
  auto [c1, d1] = CreateContent(256);
  auto [c2, d2] = CreateContent(256);
  ASSERT_OK(WriteBlob(store(), "c1", c1, d1));
  const std::string ref = "c1-commiterror-state";

  auto w = MustOpen(store(), ref);
  ASSERT_OK(w->Write(c1));
  ExpectUnavailable(store(), ref);
  EXPECT_CODE(w->Commit(256, d1, {}), kAlreadyExists);
  EXPECT_CODE(w->Write("x"), kFailedPrecondition);
  EXPECT_CODE(w->Commit(256, d1, {}), kFailedPrecondition);

  w = MustOpen(store(), ref);
  EXPECT_EQ(w->Status().offset, 0);
  ExpectUnavailable(store(), ref);
  ASSERT_OK(w->Write(c1));
  EXPECT_CODE(w->Commit(256, {}, {}), kAlreadyExists);

  w = MustOpen(store(), ref);
  ASSERT_OK(w->Write(c1 + "more"));
  absl::Status wrong_digest = w->Commit(260, d2, {});
  EXPECT_CODE(wrong_digest, kFailedPrecondition);
  EXPECT_THAT(std::string(wrong_digest.message()), HasSubstr("unexpected commit digest"));
  EXPECT_CODE(store().Info(Digest::FromBytes(c1 + "more")).status(), kNotFound);

  w = MustOpen(store(), ref);  // the ref is free again, the bytes are kept
  EXPECT_EQ(w->Status().offset, 260);
  ExpectUnavailable(store(), ref);
  absl::Status wrong_size = w->Commit(256, {}, {});
  EXPECT_CODE(wrong_size, kFailedPrecondition);
  EXPECT_THAT(std::string(wrong_size.message()), HasSubstr("unexpected commit size"));

  w = MustOpen(store(), ref);
  ExpectUnavailable(store(), ref);
  ASSERT_OK(w->Commit(260, {}, {}));
  EXPECT_EQ(*ReadBlob(store(), Digest::FromBytes(c1 + "more")), c1 + "more");

  w = MustOpen(store(), ref);  // a committed ref starts afresh
  EXPECT_EQ(w->Status().offset, 0);
  ASSERT_OK(w->Write(c1));
  ExpectUnavailable(store(), ref);
  EXPECT_CODE(w->Commit(256, d1, {}), kAlreadyExists);

  w = MustOpen(store(), ref);
  ExpectUnavailable(store(), ref);
  w.reset();
  w = MustOpen(store(), ref);
  EXPECT_NE(w, nullptr);
}

TEST_P(ContentStoreConformance, OneWriterPerRef) {
  auto w1 = MustOpen(store(), "busy");
  ASSERT_NE(w1, nullptr);
  absl::StatusOr<std::unique_ptr<ContentWriter>> w2 = store().OpenWriter("busy", 0, {});
  EXPECT_CODE(w2.status(), kUnavailable);
  EXPECT_THAT(std::string(w2.status().message()), HasSubstr("ref busy locked"));
  // Other refs are independent.
  EXPECT_NE(MustOpen(store(), "idle"), nullptr);
  w1.reset();
  EXPECT_NE(MustOpen(store(), "busy"), nullptr);
}

TEST_P(ContentStoreConformance, WalkAndDelete) {
  std::map<Digest, int64_t> want;
  for (int i = 0; i < 3; ++i) {
    auto [data, digest] = CreateContent(100 + i);
    ASSERT_OK(WriteBlob(store(), absl::StrCat("walk-", i), data, digest));
    want[digest] = 100 + i;
  }
  auto w = MustOpen(store(), "not-a-blob-yet");  // ingests are not walked
  ASSERT_OK(w->Write("partial"));
  std::map<Digest, int64_t> seen;
  ASSERT_OK(store().Walk([&](const Info& info) {
    seen[info.digest] = info.size;
    return absl::OkStatus();
  }));
  EXPECT_EQ(seen, want);

  int calls = 0;
  absl::Status stop = store().Walk([&](const Info&) {
    ++calls;
    return absl::CancelledError("stop");
  });
  EXPECT_CODE(stop, kCancelled);
  EXPECT_EQ(calls, 1);

  // Deleting from inside the walk is allowed.
  ASSERT_OK(store().Walk([&](const Info& info) { return store().Delete(info.digest); }));
  int left = 0;
  ASSERT_OK(store().Walk([&](const Info&) {
    ++left;
    return absl::OkStatus();
  }));
  EXPECT_EQ(left, 0);
}

TEST_P(ContentStoreConformance, DeleteKeepsOpenReaders) {
  auto [data, digest] = CreateContent(4096);
  ASSERT_OK(WriteBlob(store(), "del", data, digest));
  auto reader = store().OpenReader(digest);
  ASSERT_OK(reader.status());
  ASSERT_OK(store().Delete(digest));
  EXPECT_CODE(store().Info(digest).status(), kNotFound);
  EXPECT_CODE(store().OpenReader(digest).status(), kNotFound);
  EXPECT_CODE(store().Delete(digest), kNotFound);
  EXPECT_EQ(*(*reader)->ReadAt(0, 4096), data);
  // It can be written again.
  ASSERT_OK(WriteBlob(store(), "del", data, digest));
  EXPECT_EQ(*ReadBlob(store(), digest), data);
}

TEST_P(ContentStoreConformance, StatusesAndAbort) {
  auto a = MustOpen(store(), "a", 10);
  auto b = MustOpen(store(), "b");
  ASSERT_OK(a->Write("12345"));
  b.reset();
  absl::StatusOr<std::vector<Status>> list = store().ListStatuses();
  ASSERT_OK(list.status());
  std::vector<std::pair<std::string, int64_t>> got;
  for (const Status& s : *list) {
    got.emplace_back(s.ref, s.offset);
  }
  EXPECT_THAT(got, UnorderedElementsAre(std::pair<std::string, int64_t>{"a", 5},
                                        std::pair<std::string, int64_t>{"b", 0}));
  EXPECT_EQ(store().Status("a")->total, 10);

  ASSERT_OK(store().Abort("b"));
  EXPECT_CODE(store().Status("b").status(), kNotFound);
  EXPECT_CODE(store().Abort("b"), kNotFound);
  EXPECT_CODE(store().Abort("never"), kNotFound);
  EXPECT_CODE(store().Status("never").status(), kNotFound);
  EXPECT_EQ(store().ListStatuses()->size(), 1u);
  a.reset();
  ASSERT_OK(store().Abort("a"));
  EXPECT_TRUE(store().ListStatuses()->empty());
  // An aborted ref starts from zero.
  EXPECT_EQ(MustOpen(store(), "a")->Status().offset, 0);
}

TEST_P(ContentStoreConformance, StatusSurvivesRestart) {
  auto [data, digest] = CreateContent(3000);
  {
    auto w = MustOpen(store(), "restart", 3000, digest);
    ASSERT_OK(w->Write(absl::string_view(data).substr(0, 1000)));
  }
  Reopen();
  absl::StatusOr<Status> st = store().Status("restart");
  ASSERT_OK(st.status());
  EXPECT_EQ(st->ref, "restart");
  EXPECT_EQ(st->offset, 1000);
  EXPECT_EQ(st->total, 3000);
  auto w = MustOpen(store(), "restart", 3000, digest);
  ASSERT_OK(w->Write(absl::string_view(data).substr(1000)));
  ASSERT_OK(w->Commit(3000, digest, {}));
}

TEST_P(ContentStoreConformance, AnyRefString) {
  for (std::string ref : {std::string("a/b/../../c"), std::string("layer-sha256:abc"),
                          std::string(1000, 'x'), std::string("sp ace\n\xc3\xa9")}) {
    auto [data, digest] = CreateContent(10);
    auto w = MustOpen(store(), ref);
    ASSERT_NE(w, nullptr);
    ASSERT_OK(w->Write(data));
    w.reset();
    EXPECT_EQ(store().Status(ref)->ref, ref);
    w = MustOpen(store(), ref);
    ASSERT_OK(w->Commit(10, digest, {}));
  }
}

TEST_P(ContentStoreConformance, InvalidArguments) {
  EXPECT_CODE(store().OpenWriter("", 0, {}).status(), kInvalidArgument);
  EXPECT_CODE(store().Info(Digest()).status(), kInvalidArgument);
  EXPECT_CODE(store().OpenReader(Digest()).status(), kInvalidArgument);
  EXPECT_CODE(store().Delete(Digest()), kInvalidArgument);
  EXPECT_CODE(store().Info(Digest::FromBytes("absent")).status(), kNotFound);
  EXPECT_CODE(store().OpenReader(Digest::FromBytes("absent")).status(), kNotFound);
}

}  // namespace berth::content::testing
