// LocalContentStore specifics: on-disk layout, crash leftovers, and large blobs. The generic
// contract is in tests/conformance/content_conformance.cc.

#include "content/local/local_store.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "content/helpers.h"
#include "content/local/ingest.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugins/base/file_util.h"
#include "plugins/base/temp_dir.h"

namespace berth::content::local {
namespace {

using ::testing::HasSubstr;

#define ASSERT_OK(expr) ASSERT_TRUE((expr).ok()) << (expr)
#define EXPECT_CODE(expr, want) EXPECT_EQ((expr).code(), absl::StatusCode::want) << (expr)

std::string RandomBytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(size, '\0');
  for (size_t i = 0; i + 8 <= size; i += 8) {
    uint64_t v = rng();
    memcpy(&out[i], &v, 8);
  }
  return out;
}

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create(::testing::TempDir(), "local-store-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_.emplace(*std::move(dir));
    Reopen();
  }
  void Reopen() {
    store_.reset();
    auto store = LocalContentStore::Create(root());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  const std::string& root() { return dir_->path(); }
  std::string IngestDir(absl::string_view ref) { return store_->IngestPath(ref); }
  std::unique_ptr<ContentWriter> Open(absl::string_view ref, int64_t size = 0,
                                      const Digest& expected = {}) {
    auto w = store_->OpenWriter(ref, size, expected);
    EXPECT_TRUE(w.ok()) << w.status();
    return w.ok() ? *std::move(w) : nullptr;
  }

  std::optional<ScopedTempDir> dir_;
  std::unique_ptr<LocalContentStore> store_;
};

TEST_F(LocalStoreTest, CommitLayout) {
  std::string data = "hello, blob";
  Digest digest = Digest::FromBytes(data);
  auto w = Open("layout", data.size(), digest);
  std::string ingest = IngestDir("layout");
  EXPECT_EQ(ingest, JoinPath(JoinPath(root(), "ingest"), Digest::FromBytes("layout").hex()));
  EXPECT_EQ(*ReadFile(JoinPath(ingest, "ref")), "layout");
  EXPECT_EQ(*ReadFile(JoinPath(ingest, "total")), absl::StrCat(data.size()));
  EXPECT_EQ(*ReadFile(JoinPath(ingest, "expected")), digest.string());
  ASSERT_OK(w->Write(data));
  ASSERT_OK(w->Commit(data.size(), digest, {}));

  std::string blob = JoinPath(root(), absl::StrCat("blobs/sha256/", digest.hex()));
  EXPECT_EQ(*store_->BlobPath(digest), blob);
  EXPECT_EQ(*ReadFile(blob), data);
  struct stat st;
  ASSERT_EQ(stat(blob.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444);
  EXPECT_FALSE(PathExists(ingest));
}

TEST_F(LocalStoreTest, ResumeAfterDroppedWriterAndRestart) {
  std::string data = RandomBytes(5 << 20, 1);
  Digest digest = Digest::FromBytes(data);
  {
    auto w = Open("resume", data.size(), digest);
    ASSERT_OK(w->Write(absl::string_view(data).substr(0, 3 << 20)));
  }          // client killed: the writer is dropped, the data stays
  Reopen();  // and the daemon restarts
  EXPECT_EQ(store_->Status("resume")->offset, 3 << 20);
  auto w = Open("resume", data.size(), digest);
  EXPECT_EQ(w->Status().offset, 3 << 20);
  EXPECT_EQ(w->Digest(), Digest::FromBytes(absl::string_view(data).substr(0, 3 << 20)));
  ASSERT_OK(w->Write(absl::string_view(data).substr(3 << 20)));
  ASSERT_OK(w->Commit(data.size(), digest, {}));
  EXPECT_EQ(*ReadBlob(*store_, digest), data);
}

// Large writes go through the appender's aligned ring: a resume at an unaligned offset reads
// the partial block back, and a truncate stops the appender and starts over from the file.
TEST_F(LocalStoreTest, ResumeUnalignedAndTruncateUnderLargeWrites) {
  std::string data = RandomBytes((6 << 20) + 777, 8);
  Digest digest = Digest::FromBytes(data);
  const size_t unaligned = (1 << 20) + 123;
  {
    auto w = Open("unaligned", data.size(), digest);
    ASSERT_OK(w->Write(absl::string_view(data).substr(0, unaligned)));
  }
  auto w = Open("unaligned", data.size(), digest);
  ASSERT_EQ(w->Status().offset, static_cast<int64_t>(unaligned));
  ASSERT_OK(w->Write(absl::string_view(data).substr(unaligned, 2 << 20)));
  EXPECT_EQ(w->Digest(),
            Digest::FromBytes(absl::string_view(data).substr(0, unaligned + (2 << 20))));
  ASSERT_OK(w->Truncate(5000));
  EXPECT_EQ(w->Status().offset, 5000);
  EXPECT_EQ(store_->Status("unaligned")->offset, 5000);
  EXPECT_EQ(w->Digest(), Digest::FromBytes(absl::string_view(data).substr(0, 5000)));
  ASSERT_OK(w->Write(absl::string_view(data).substr(5000)));
  ASSERT_OK(w->Commit(data.size(), digest, {}));
  EXPECT_EQ(*ReadBlob(*store_, digest), data);
}

// containerd#3089: a crash between mkdir and the metadata files must not wedge the ref.
TEST_F(LocalStoreTest, HalfMadeIngestDirs) {
  struct Case {
    const char* name;
    void (*damage)(const std::string& dir);
  };
  const Case cases[] = {
      {"empty-dir", [](const std::string& dir) { ASSERT_OK(MkdirAll(dir)); }},
      {"data-only",
       [](const std::string& dir) {
         ASSERT_OK(MkdirAll(dir));
         ASSERT_OK(WriteFileAtomic(JoinPath(dir, "data"), "stale bytes"));
       }},
      {"empty-ref",
       [](const std::string& dir) {
         ASSERT_OK(MkdirAll(dir));
         ASSERT_OK(WriteFileAtomic(JoinPath(dir, "data"), "stale bytes"));
         ASSERT_OK(WriteFileAtomic(JoinPath(dir, "ref"), ""));
       }},
      {"bad-startedat",
       [](const std::string& dir) {
         ASSERT_OK(MkdirAll(dir));
         ASSERT_OK(WriteFileAtomic(JoinPath(dir, "data"), "stale bytes"));
         ASSERT_OK(WriteFileAtomic(JoinPath(dir, "ref"), "bad-startedat"));
         ASSERT_OK(WriteFileAtomic(JoinPath(dir, "startedat"), "not a time"));
       }},
      {"not-a-dir",
       [](const std::string& dir) { ASSERT_OK(WriteFileAtomic(dir, "a file, not a dir")); }},
      {"data-is-dir",
       [](const std::string& dir) {
         ASSERT_OK(MkdirAll(JoinPath(dir, "data")));
         ASSERT_OK(WriteFileAtomic(JoinPath(dir, "ref"), "data-is-dir"));
         ASSERT_OK(WriteFileAtomic(JoinPath(dir, "startedat"), "2024-01-01T00:00:00Z"));
       }},
      {"wrong-ref",
       [](const std::string& dir) {
         ASSERT_OK(MkdirAll(dir));
         ASSERT_OK(WriteFileAtomic(JoinPath(dir, "data"), "stale bytes"));
         ASSERT_OK(WriteFileAtomic(JoinPath(dir, "ref"), "someone-else"));
         ASSERT_OK(WriteFileAtomic(JoinPath(dir, "startedat"), "2024-01-01T00:00:00Z"));
       }},
  };
  // A temp dir left by a crash during creation is not an ingest either.
  ASSERT_OK(MkdirAll(JoinPath(root(), "ingest/.tmp-abc-123456")));
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    c.damage(IngestDir(c.name));
    EXPECT_CODE(store_->Status(c.name).status(), kNotFound);
    auto list = store_->ListStatuses();
    ASSERT_OK(list.status());
    for (const Status& s : *list) {
      EXPECT_NE(s.ref, c.name);
    }
    std::string data = absl::StrCat("fresh content for ", c.name);
    Digest digest = Digest::FromBytes(data);
    auto w = Open(c.name, data.size(), digest);
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->Status().offset, 0);  // restarted, stale bytes gone
    EXPECT_EQ(store_->Status(c.name)->offset, 0);
    ASSERT_OK(w->Write(data));
    ASSERT_OK(w->Commit(data.size(), digest, {}));
    EXPECT_EQ(*ReadBlob(*store_, digest), data);
  }
  EXPECT_TRUE(store_->ListStatuses()->empty());
}

TEST_F(LocalStoreTest, StaleTempDirsRemovedOnCreate) {
  std::string stale = JoinPath(root(), "ingest/.tmp-old-aaaaaa");
  std::string fresh = JoinPath(root(), "ingest/.tmp-new-bbbbbb");
  ASSERT_OK(MkdirAll(stale));
  ASSERT_OK(MkdirAll(fresh));
  struct timespec old_time = absl::ToTimespec(absl::Now() - absl::Hours(2));
  struct timespec times[2] = {old_time, old_time};
  ASSERT_EQ(utimensat(AT_FDCWD, stale.c_str(), times, 0), 0);
  Reopen();
  EXPECT_FALSE(PathExists(stale));
  EXPECT_TRUE(PathExists(fresh));
}

TEST_F(LocalStoreTest, MismatchMakesNoBlobAndKeepsIngest) {
  std::string data = RandomBytes(1 << 16, 2);
  Digest right = Digest::FromBytes(data);
  Digest wrong = Digest::FromBytes("something else");
  auto w = Open("mismatch", 0, wrong);
  ASSERT_OK(w->Write(data));
  absl::Status s = w->Commit(data.size(), wrong, {});
  EXPECT_CODE(s, kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr(absl::StrCat("unexpected commit digest ", right.string(), ", expected ",
                                     wrong.string())));
  EXPECT_FALSE(PathExists(*store_->BlobPath(right)));
  EXPECT_FALSE(PathExists(*store_->BlobPath(wrong)));
  EXPECT_EQ(store_->Status("mismatch")->offset, 1 << 16);

  w = Open("mismatch");
  s = w->Commit(data.size() + 1, {}, {});
  EXPECT_CODE(s, kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr(absl::StrCat("unexpected commit size ", data.size(), ", expected ",
                                     data.size() + 1)));
  EXPECT_FALSE(PathExists(*store_->BlobPath(right)));
  int blobs = 0;
  ASSERT_OK(store_->Walk([&](const Info&) {
    ++blobs;
    return absl::OkStatus();
  }));
  EXPECT_EQ(blobs, 0);
}

TEST_F(LocalStoreTest, LockIsProcessWideAcrossStoreInstances) {
  auto other = LocalContentStore::Create(root());
  ASSERT_OK(other.status());
  auto w = Open("shared-ref");
  auto w2 = (*other)->OpenWriter("shared-ref", 0, {});
  EXPECT_CODE(w2.status(), kUnavailable);
  EXPECT_THAT(std::string(w2.status().message()), HasSubstr("ref shared-ref locked"));
  // A store on another root does not share the ref.
  auto dir = ScopedTempDir::Create(::testing::TempDir(), "other-root-");
  ASSERT_OK(dir.status());
  auto elsewhere = LocalContentStore::Create(dir->path());
  ASSERT_OK(elsewhere.status());
  EXPECT_TRUE((*elsewhere)->OpenWriter("shared-ref", 0, {}).ok());
}

TEST_F(LocalStoreTest, ExistingBlobCleansIngest) {
  std::string data = "dup";
  Digest digest = Digest::FromBytes(data);
  ASSERT_OK(WriteBlob(*store_, "first", data, digest));
  auto w = Open("second");
  ASSERT_OK(w->Write(data));
  EXPECT_CODE(w->Commit(3, digest, {}), kAlreadyExists);
  EXPECT_FALSE(PathExists(IngestDir("second")));
  EXPECT_CODE(store_->OpenWriter("third", 3, digest).status(), kAlreadyExists);
  EXPECT_FALSE(PathExists(IngestDir("third")));
}

TEST_F(LocalStoreTest, ResumeWithDifferentTotalRestarts) {
  {
    auto w = Open("total", 100);
    ASSERT_OK(w->Write("0123456789"));
  }
  EXPECT_EQ(Open("total", 100)->Status().offset, 10);  // same total: resumes
  auto w = Open("total", 200);                         // contradicting total: restarts
  EXPECT_EQ(w->Status().offset, 0);
  EXPECT_EQ(w->Status().total, 200);
}

TEST_F(LocalStoreTest, AbortUnderLiveWriterFailsItsCommit) {
  auto w = Open("aborted");
  ASSERT_OK(w->Write("data"));
  ASSERT_OK(store_->Abort("aborted"));
  EXPECT_FALSE(w->Commit(4, {}, {}).ok());
  EXPECT_CODE(store_->Info(Digest::FromBytes("data")).status(), kNotFound);
  EXPECT_NE(Open("aborted"), nullptr);
}

TEST_F(LocalStoreTest, UpdateIsUnsupported) {
  Info info;
  info.digest = Digest::FromBytes("x");
  absl::StatusOr<Info> s = store_->Update(info, {"labels"});
  EXPECT_CODE(s.status(), kFailedPrecondition);
}

// Makes writes past `bytes` fail with EFBIG (RLIMIT_FSIZE, SIGXFSZ ignored) while in scope.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    struct sigaction ignore = {};
    ignore.sa_handler = SIG_IGN;
    EXPECT_EQ(sigaction(SIGXFSZ, &ignore, &old_action_), 0);
    EXPECT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit_), 0);
    struct rlimit limit = old_limit_;
    limit.rlim_cur = bytes;
    EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  }
  ~FileSizeLimit() {
    EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &old_limit_), 0);
    EXPECT_EQ(sigaction(SIGXFSZ, &old_action_, nullptr), 0);
  }

 private:
  struct sigaction old_action_;
  struct rlimit old_limit_;
};

// A small ingest is written inline: a write that fails half-way leaves offset, digest and file
// as they were, and the writer goes on.
TEST_F(LocalStoreTest, FailedSmallWriteIsAllOrNothing) {
  std::string data = RandomBytes(12000, 5);
  Digest digest = Digest::FromBytes(data);
  auto w = Open("efbig", data.size(), digest);
  ASSERT_OK(w->Write(absl::string_view(data).substr(0, 4000)));
  {
    FileSizeLimit limit(5000);
    EXPECT_FALSE(w->Write(absl::string_view(data).substr(4000, 4000)).ok());
  }
  EXPECT_EQ(w->Status().offset, 4000);
  EXPECT_EQ(w->Digest(), Digest::FromBytes(absl::string_view(data).substr(0, 4000)));
  EXPECT_EQ(store_->Status("efbig")->offset, 4000);
  ASSERT_OK(w->Write(absl::string_view(data).substr(4000)));
  ASSERT_OK(w->Commit(data.size(), digest, {}));
  EXPECT_EQ(*ReadBlob(*store_, digest), data);
}

// A large ingest is written behind the caller, so the disk's refusal surfaces at a later call
// (here: once the staging ring is full). That call fails, and the writer goes on from the
// prefix the file holds, with offset, digest and file in agreement.
TEST_F(LocalStoreTest, FailedLargeWriteGoesOnFromWhatTheFileHolds) {
  constexpr size_t kChunk = 1 << 20;
  std::string data = RandomBytes(48 << 20, 6);
  Digest digest = Digest::FromBytes(data);
  auto w = Open("efbig", data.size(), digest);
  ASSERT_OK(w->Write(absl::string_view(data).substr(0, 2 * kChunk)));
  int64_t before_failure = 0;
  {
    FileSizeLimit limit(2 * kChunk + 4096);  // block aligned: O_DIRECT writes stop at it
    absl::Status failed;
    for (size_t at = 2 * kChunk; failed.ok() && at < data.size(); at += kChunk) {
      before_failure = w->Status().offset;
      failed = w->Write(absl::string_view(data).substr(at, kChunk));
    }
    ASSERT_FALSE(failed.ok()) << "no write failed past the file size limit";
    EXPECT_THAT(failed.message(), HasSubstr("File too large"));
  }
  const int64_t offset = w->Status().offset;
  EXPECT_LE(offset, before_failure);  // nothing of the failed call counts
  EXPECT_EQ(store_->Status("efbig")->offset, offset);
  EXPECT_EQ(w->Digest(), Digest::FromBytes(absl::string_view(data).substr(0, offset)));
  ASSERT_OK(w->Write(absl::string_view(data).substr(offset)));
  ASSERT_OK(w->Commit(data.size(), digest, {}));
  EXPECT_EQ(*ReadBlob(*store_, digest), data);
}

// Commit waits for the writes behind it: one the disk refused fails the commit, and a later
// writer resumes from the prefix the file holds.
TEST_F(LocalStoreTest, CommitReportsAFailedWriteAndTheIngestResumes) {
  std::string data = RandomBytes(3 << 20, 7);
  Digest digest = Digest::FromBytes(data);
  {
    auto w = Open("efbig", data.size(), digest);
    FileSizeLimit limit(4096);
    ASSERT_OK(w->Write(data));  // queued: the ring has room for all of it
    absl::Status committed = w->Commit(data.size(), digest, {});
    EXPECT_FALSE(committed.ok());
    EXPECT_THAT(committed.message(), HasSubstr("File too large"));
  }
  EXPECT_FALSE(store_->Info(digest).ok());
  auto w = Open("efbig", data.size(), digest);
  const int64_t offset = w->Status().offset;
  EXPECT_LE(offset, 4096);
  EXPECT_EQ(w->Digest(), Digest::FromBytes(absl::string_view(data).substr(0, offset)));
  ASSERT_OK(w->Write(absl::string_view(data).substr(offset)));
  ASSERT_OK(w->Commit(data.size(), digest, {}));
  EXPECT_EQ(*ReadBlob(*store_, digest), data);
}

TEST_F(LocalStoreTest, LargeBlobStreaming) {
  constexpr size_t kSize = (64 << 20) + 12345;
  constexpr size_t kChunk = 1 << 20;
  std::string data = RandomBytes(kSize, 3);
  Digest digest = Digest::FromBytes(data);
  auto w = Open("large", kSize, digest);
  for (size_t i = 0; i < kSize; i += kChunk) {
    ASSERT_OK(w->Write(absl::string_view(data).substr(i, kChunk)));
  }
  ASSERT_OK(w->Commit(kSize, digest, {}));
  auto reader = store_->OpenReader(digest);
  ASSERT_OK(reader.status());
  ASSERT_EQ((*reader)->Size(), static_cast<int64_t>(kSize));
  Sha256 h;
  std::string buf(3 << 19, '\0');  // chunks not aligned to the write size
  int64_t offset = 0;
  while (true) {
    absl::StatusOr<size_t> n = (*reader)->ReadAt(offset, absl::MakeSpan(buf.data(), buf.size()));
    ASSERT_OK(n.status());
    if (*n == 0) {
      break;
    }
    h.Update(absl::string_view(buf.data(), *n));
    offset += *n;
  }
  EXPECT_EQ(offset, static_cast<int64_t>(kSize));
  EXPECT_EQ(h.Sum(), digest);
  EXPECT_EQ(*(*reader)->ReadAt(kSize - 10, 100), data.substr(kSize - 10));
}

// Manual: --gtest_also_run_disabled_tests --gtest_filter='*Throughput*'. Ingests 1 GiB in
// 1 MiB writes; compare with `openssl dgst -sha256` on a 1 GiB file.
TEST_F(LocalStoreTest, DISABLED_Throughput1GiB) {
  constexpr size_t kChunk = 1 << 20;
  constexpr size_t kChunks = 1024;
  std::string chunk = RandomBytes(kChunk, 4);
  auto cpu_seconds = [] {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return absl::ToDoubleSeconds(absl::DurationFromTimeval(ru.ru_utime) +
                                 absl::DurationFromTimeval(ru.ru_stime));
  };
  double cpu_start = cpu_seconds();
  auto start = std::chrono::steady_clock::now();
  auto w = Open("bench", kChunk * kChunks);
  for (size_t i = 0; i < kChunks; ++i) {
    ASSERT_OK(w->Write(chunk));
  }
  auto written = std::chrono::steady_clock::now();
  ASSERT_OK(w->Commit(kChunk * kChunks, {}, {}));
  auto done = std::chrono::steady_clock::now();
  double total_s = std::chrono::duration<double>(done - start).count();
  double write_s = std::chrono::duration<double>(written - start).count();
  printf("ingest 1 GiB: %.3f s (writes %.3f s, commit %.3f s) = %.0f MiB/s, cpu %.3f s\n", total_s,
         write_s, total_s - write_s, 1024 / total_s, cpu_seconds() - cpu_start);
}

}  // namespace
}  // namespace berth::content::local
