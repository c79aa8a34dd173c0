#pragma once

// ContentMetadata: the namespaced content store (containerd metadata/content.go). It wraps the
// namespace-unaware backend (content/content_store.h): a blob is stored once on disk and is
// visible in every namespace that holds a content record for it; labels live in those records.
//
// Records (see schema.h):
//   v1 \0 <ns> \0 content \0 <digest>  -> content.v1.Info (digest, size, times, labels)
//   v1 \0 <ns> \0 ingests \0 <ref>     -> berth.metadata.v1.Ingest (backend ref, expected,
//                                         total, expires_at)
// Backend ingest refs are "<ns>/<nanos>/<ref>", so two namespaces never share a backend ingest
// and an ingest recreated after garbage collection never resumes a collected one.
//
// Leases: a writer opened with a lease adds the ingest ("ingests", ref) to it and its commit
// moves that to ("content", digest). The lease must exist (NotFound "lease does not exist").
// An ingest without a lease expires 24 h after its last open (GC removes it then).
//
// Sharing (containerd's "shared" policy): a writer whose expected digest is already on disk
// but not in this namespace does not write anything; its Status reports the full size and its
// Commit just records the blob in the namespace.
//
// Concurrency with garbage collection (see gc.h): every transaction that adds a reference to
// a content record (image target, gc.ref.content label, lease resource) locks that record's
// key (GetForUpdate), so a collector that locked it first either sees the reference or
// deletes the record before the reference is made. Digests being committed or linked are
// "pinned" in memory, and the collector never deletes a pinned blob from the backend.
//
// Thread safety: all methods may be called from any thread; a ContentWriter from one thread at
// a time.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "content/content_store.h"
#include "containerd/services/content/v1/content.pb.h"
#include "services/metadata/db.h"

namespace berth::metadata {

using ContentInfo = containerd::services::content::v1::Info;
using IngestStatus = containerd::services::content::v1::Status;

inline constexpr char kGcRootLabel[] = "containerd.io/gc.root";
inline constexpr char kGcRefContentPrefix[] = "containerd.io/gc.ref.content";
inline constexpr char kGcRefSnapshotPrefix[] = "containerd.io/gc.ref.snapshot.";

// Who writes: the namespace and the lease from the request, if any.
struct WriteContext {
  std::string ns;
  std::optional<std::string> lease;
};

class ContentMetadata;

// A namespaced ingest writer (containerd's namespacedWriter). Destroying it without Commit keeps
// the ingest for resumption.
class NamespacedWriter {
 public:
  ~NamespacedWriter();
  NamespacedWriter(const NamespacedWriter&) = delete;
  NamespacedWriter& operator=(const NamespacedWriter&) = delete;

  // Appends at the current offset. Errors as ContentWriter::Write.
  absl::Status Write(absl::string_view data);
  // Cuts back to `size` bytes (0 restarts).
  absl::Status Truncate(int64_t size);
  content::Digest Digest() const;
  // Status with the client's ref.
  IngestStatus Status() const;
  // Verifies (size 0 / empty expected = unchecked) and records the blob in the namespace with
  // `labels`. FailedPrecondition on a size or digest mismatch (no blob); AlreadyExists if the
  // namespace already had it (the ingest is gone either way). The writer is closed afterwards.
  absl::Status Commit(int64_t size, const content::Digest& expected, const content::Labels& labels);

 private:
  friend class ContentMetadata;
  NamespacedWriter(ContentMetadata& store, WriteContext context, std::string ref,
                   std::string backend_ref, content::Digest shared, int64_t shared_size,
                   std::unique_ptr<content::ContentWriter> writer);
  // Shared mode has no backend writer; the first Write/Truncate makes one holding a copy.
  absl::Status EnsureWriter();
  absl::StatusOr<int64_t> VerifyAndCommitBackend(int64_t size, const content::Digest& expected,
                                                 content::Digest& actual);

  ContentMetadata& store_;
  const WriteContext context_;
  const std::string ref_;
  const std::string backend_ref_;
  content::Digest shared_;  // non-empty in shared mode (pinned while this writer lives)
  int64_t shared_size_ = 0;
  std::unique_ptr<content::ContentWriter> writer_;
  bool closed_ = false;
};

class ContentMetadata {
 public:
  ContentMetadata(Db& db, content::ContentStore& backend) : db_(db), backend_(backend) {}

  // NotFound ("content digest <d>: not found") unless the blob is in `ns`.
  absl::StatusOr<ContentInfo> Info(const std::string& ns, const std::string& digest);
  // Labels only: paths "labels" or "labels.<k>" (none = all labels). InvalidArgument otherwise.
  absl::StatusOr<ContentInfo> Update(const std::string& ns, const ContentInfo& info,
                                     const std::vector<std::string>& paths);
  // Sets (adds or replaces) these labels on the record of `digest`, keeping the others.
  absl::Status SetLabels(const std::string& ns, const std::string& digest,
                         const content::Labels& labels);
  // Every record of `ns` in digest order until fn returns false.
  absl::Status Walk(const std::string& ns, const std::function<bool(const ContentInfo&)>& fn);
  // Removes the blob from `ns` (the bytes go at the next GC). NotFound.
  absl::Status Delete(const std::string& ns, const std::string& digest);
  absl::StatusOr<std::unique_ptr<content::ContentReader>> OpenReader(const std::string& ns,
                                                                     const std::string& digest);
  // Starts or resumes ingest `ref` in context.ns. InvalidArgument (empty ref, bad digest),
  // AlreadyExists (expected already in the namespace), NotFound (lease), Unavailable (locked).
  absl::StatusOr<std::unique_ptr<NamespacedWriter>> OpenWriter(const WriteContext& context,
                                                               const std::string& ref,
                                                               int64_t total,
                                                               const std::string& expected);
  absl::StatusOr<IngestStatus> Status(const std::string& ns, const std::string& ref);
  absl::StatusOr<std::vector<IngestStatus>> ListStatuses(const std::string& ns);
  // NotFound ("ingest ref <r>: not found").
  absl::Status Abort(const std::string& ns, const std::string& ref);

  content::ContentStore& backend() { return backend_; }
  Db& db() { return db_; }

  // Called after each deletion (true) or other mutation (false); the GC scheduler counts them.
  void SetMutationCallback(std::function<void(bool deletion)> callback) {
    on_mutation_ = std::move(callback);
  }
  void NotifyMutation(bool deletion) {
    if (on_mutation_) on_mutation_(deletion);
  }

  // Garbage collection's backend deletion: removes blob `digest` unless it is pinned or some
  // namespace holds a record for it. Returns whether it was removed.
  absl::StatusOr<bool> DeleteBlobIfUnreferenced(const content::Digest& digest);

 private:
  friend class NamespacedWriter;
  void Pin(const content::Digest& digest);
  void Unpin(const content::Digest& digest);
  // Pins `digest` iff the backend has it; returns its size then.
  std::optional<int64_t> PinIfPresent(const content::Digest& digest);

  Db& db_;
  content::ContentStore& backend_;
  std::function<void(bool)> on_mutation_;
  absl::Mutex pin_mu_;
  absl::flat_hash_map<std::string, int> pins_ ABSL_GUARDED_BY(pin_mu_);
};

// Keys and small helpers shared by the content, image and GC code.
std::string ContentKey(absl::string_view ns, absl::string_view digest);
std::string IngestKey(absl::string_view ns, absl::string_view ref);
std::string LeaseResourceKey(absl::string_view ns, absl::string_view lease,
                             absl::string_view type, absl::string_view id);
// In `txn`: NotFound "lease does not exist" unless lease `id` exists in `ns`.
absl::Status CheckLeaseInTxn(Txn& txn, absl::string_view ns, absl::string_view id);
// Locks the content records named by gc.ref.content labels (see the concurrency note above).
absl::Status LockReferencedContent(Txn& txn, absl::string_view ns,
                                   const google::protobuf::Map<std::string, std::string>& labels);

}  // namespace berth::metadata
