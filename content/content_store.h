#pragma once

// The content store: immutable blobs addressed by their digest, plus "ingests", the
// resumable in-progress writes that become blobs when committed.
//
// This is containerd's content.Store contract (content/content.go) in C++. Vocabulary and
// semantics are kept so containerd's docs and testsuite carry over:
//
//   - A blob, once committed, never changes. It is named by Digest (sha256) and its bytes
//     always hash to that digest; a write whose bytes do not match never becomes a blob.
//   - An ingest is keyed by a caller-chosen `ref` (any non-empty string, e.g.
//     "layer-sha256:..."). It survives its writer: a writer dropped without Commit leaves the
//     bytes written so far, and the next OpenWriter on the same ref resumes at that offset.
//     Ingests end through Commit, Abort, or garbage collection above this layer.
//   - At most one ContentWriter per ref exists at a time; a second OpenWriter on a ref whose
//     writer is alive gets kUnavailable ("ref <ref> locked"), which callers retry.
//
// Backends know nothing of namespaces, leases or request contexts. Labels and per-namespace
// visibility are kept by the metadata layer (services/metadata), which wraps a backend and
// implements this same interface. A backend may not store labels at all (see Update).
//
// Errors (absl::Status codes, containerd's errdefs):
//   kNotFound            no such blob / no such ingest
//   kAlreadyExists       the blob being written is already in the store
//   kInvalidArgument     malformed digest, empty ref, unsupported argument
//   kFailedPrecondition  commit size/digest mismatch, use of a closed writer, unsupported update
//   kUnavailable         the ref is locked by another live writer
//   others               I/O failures (errno-derived codes), corruption (kDataLoss)
//
// Thread safety: ContentStore methods may be called concurrently from any thread. A
// ContentReader or ContentWriter is used by one thread at a time (it has no internal locking).
// Readers and writers must not outlive the store that opened them.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "content/digest.h"

namespace berth::content {

using Labels = std::map<std::string, std::string>;

// What the store knows about a committed blob (containerd content.Info).
struct Info {
  Digest digest;
  int64_t size = 0;
  // When the blob was committed.
  absl::Time created_at;
  // Last change to the blob's metadata (labels); equals created_at where labels are not stored.
  absl::Time updated_at;
  // Empty in backends that store no labels.
  Labels labels;
};

// Progress of an ingest (containerd content.Status).
struct Status {
  std::string ref;
  // Bytes written so far; the next write goes here.
  int64_t offset = 0;
  // Expected final size, 0 if unknown.
  int64_t total = 0;
  // Expected final digest, empty if unknown.
  Digest expected;
  absl::Time started_at;
  absl::Time updated_at;
};

// Random access to one committed blob. Obtained from ContentStore::OpenReader. The blob is
// immutable, so reads are repeatable; a reader keeps working after the blob is deleted (it holds
// the open file, as a Go ReaderAt does).
class ContentReader {
 public:
  virtual ~ContentReader() = default;
  ContentReader(const ContentReader&) = delete;
  ContentReader& operator=(const ContentReader&) = delete;

  // Copies bytes starting at `offset` into `buf` and returns how many were copied. The count is
  // buf.size() unless the blob ends first; 0 means `offset` is at or past the end (not an
  // error, like a short io.SectionReader). kInvalidArgument for a negative offset; an I/O
  // error status otherwise.
  virtual absl::StatusOr<size_t> ReadAt(int64_t offset, absl::Span<char> buf) = 0;

  // The blob size in bytes.
  virtual int64_t Size() const = 0;

  // Convenience: up to `size` bytes at `offset`, as a string (shorter at end of blob).
  absl::StatusOr<std::string> ReadAt(int64_t offset, size_t size);

 protected:
  ContentReader() = default;
};

// An open ingest. Obtained from ContentStore::OpenWriter; holds the ref's lock until it is
// committed or destroyed. Destroying a writer without Commit keeps the ingest (bytes, total,
// started_at) on disk so that a later OpenWriter on the same ref resumes it; use
// ContentStore::Abort to discard it.
class ContentWriter {
 public:
  virtual ~ContentWriter() = default;
  ContentWriter(const ContentWriter&) = delete;
  ContentWriter& operator=(const ContentWriter&) = delete;

  // Appends `data` at the current offset (Status().offset) and advances it; `data` is not
  // retained. A failed call counts none of `data`. A store may write behind the caller (the
  // local one does for large ingests): a disk error then surfaces at a later Write or at
  // Commit, and the writer goes on from the bytes the store really holds, so offset, digest
  // and stored bytes always agree, possibly on fewer bytes than before the failed call.
  // Writes are not synced individually: durability comes with Commit.
  // Writing at another offset is not supported here; the service checks offsets.
  // kFailedPrecondition once the writer is committed.
  virtual absl::Status Write(absl::string_view data) = 0;

  // Cuts the ingest back to `size` bytes (0 restarts it), recomputing the digest so far.
  // kInvalidArgument if `size` is negative or beyond the current offset.
  virtual absl::Status Truncate(int64_t size) = 0;

  // The digest of the bytes written so far (offset bytes). O(1) in the ingest size; may wait
  // for bytes still being hashed behind the caller (at most the store's staging buffer).
  virtual content::Digest Digest() const = 0;

  // Ref, offset, total, expected digest and times of this ingest.
  virtual content::Status Status() const = 0;

  // Turns the ingest into the blob named by the digest of its bytes:
  //   - `size` > 0 must equal the bytes written, and a non-empty `expected` must equal their
  //     digest; else kFailedPrecondition ("unexpected commit size ..." / "unexpected commit
  //     digest ..."), no blob is made and the ingest is kept (as containerd does), so it can be
  //     resumed or truncated by a new writer. size == 0 means "do not check".
  //   - If the blob already exists: kAlreadyExists and the ingest is removed.
  //   - On success the data is durable (synced, renamed into place, directory synced), the
  //     blob is read-only and the ingest is gone.
  // `labels` are for stores that keep labels (the metadata layer); backends that keep none
  // ignore them.
  // The writer is closed and the ref unlocked whatever the outcome; any further call on it
  // returns kFailedPrecondition (Digest and Status keep answering).
  virtual absl::Status Commit(int64_t size, const content::Digest& expected,
                              const Labels& labels) = 0;

 protected:
  ContentWriter() = default;
};

// The store. See the file comment for the model and error codes.
class ContentStore {
 public:
  virtual ~ContentStore() = default;
  ContentStore(const ContentStore&) = delete;
  ContentStore& operator=(const ContentStore&) = delete;

  // Info of a committed blob. kNotFound if absent; kInvalidArgument if `digest` is empty.
  virtual absl::StatusOr<content::Info> Info(const content::Digest& digest) = 0;

  // Replaces labels of blob `info.digest`. `fieldpaths` picks what changes: "labels" (all of
  // them) or "labels.<key>" (one key; an absent key in info.labels deletes it); empty means
  // all labels. Returns the updated Info. kNotFound if the blob is absent; kInvalidArgument for
  // any other field path. A backend that stores no labels returns kFailedPrecondition
  // ("update not supported on immutable content store"), as containerd's local store does.
  virtual absl::StatusOr<content::Info> Update(const content::Info& info,
                                               const std::vector<std::string>& fieldpaths) = 0;

  // Calls `fn` for each committed blob, in no particular order, until it returns an error,
  // which Walk then returns. Filtering is done by the caller (the metadata/service layers).
  // `fn` may delete the blob it is given. Blobs committed or deleted during the walk may or
  // may not be seen.
  virtual absl::Status Walk(absl::FunctionRef<absl::Status(const content::Info&)> fn) = 0;

  // Removes a committed blob. Open readers keep working. kNotFound if absent.
  virtual absl::Status Delete(const Digest& digest) = 0;

  // Opens a committed blob for reading. kNotFound if absent.
  virtual absl::StatusOr<std::unique_ptr<ContentReader>> OpenReader(const Digest& digest) = 0;

  // Starts or resumes the ingest `ref` (non-empty, else kInvalidArgument).
  //   - `expected_digest` non-empty and already a blob: kAlreadyExists, nothing is opened.
  //   - Another writer on `ref` alive: kUnavailable ("ref <ref> locked"); not retried here.
  //   - An existing ingest resumes at its offset (the writer re-reads its bytes once to rebuild
  //     the digest). If it recorded a different non-zero total than `expected_size`, or is
  //     damaged (e.g. a crash while it was being created), it is restarted from zero.
  // `expected_size` (0 = unknown) and `expected_digest` are recorded in Status; the checks
  // happen at Commit.
  virtual absl::StatusOr<std::unique_ptr<ContentWriter>> OpenWriter(
      absl::string_view ref, int64_t expected_size, const Digest& expected_digest) = 0;

  // Status of the ingest `ref`, live writer or not. kNotFound if there is no such ingest (a
  // half-created one counts as absent).
  virtual absl::StatusOr<content::Status> Status(absl::string_view ref) = 0;

  // Status of every ingest (unordered); damaged ingest directories are skipped. Filtering is
  // done by the caller.
  virtual absl::StatusOr<std::vector<content::Status>> ListStatuses() = 0;

  // Discards the ingest `ref` and its data. kNotFound if there is none. A live writer on the
  // ref is not stopped, but its Commit will fail.
  virtual absl::Status Abort(absl::string_view ref) = 0;

 protected:
  ContentStore() = default;
};

}  // namespace berth::content
