#pragma once

// Content digests and the streaming SHA-256 hasher behind them.
//
// A Digest is the OCI "<algorithm>:<encoded>" string that names a blob. Berth, like containerd's
// canonical algorithm, supports only sha256: a valid digest is exactly "sha256:" followed by 64
// lowercase hex characters. Anything else is kInvalidArgument when parsed, which is what
// containerd answers for a malformed or unsupported digest.
//
// A default-constructed Digest is empty; APIs use the empty digest for "not given" (an ingest
// with no expected digest, a commit that does not check one).
//
// Sha256 hashes a stream incrementally with OpenSSL's EVP interface. Sum() does not end the
// stream, so a writer can report the digest of what it has so far after every write. Resuming
// an interrupted ingest means feeding the bytes already on disk through a fresh hasher once
// (HashFd), the approach containerd's local store takes.

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::content {

class Digest {
 public:
  static constexpr absl::string_view kSha256 = "sha256";
  static constexpr size_t kSha256HexSize = 64;
  static constexpr size_t kSha256Size = 32;

  // The empty digest ("not given").
  Digest() = default;

  // Parses and validates "sha256:<64 lowercase hex>". kInvalidArgument otherwise, with the
  // offending text in the message.
  static absl::StatusOr<Digest> Parse(absl::string_view text);
  // OK iff Parse(text) would succeed.
  static absl::Status Validate(absl::string_view text);
  // The digest of raw SHA-256 output (`kSha256Size` bytes).
  static Digest FromSha256Bytes(const unsigned char* bytes);
  // sha256 of `data`, computed in one go (tests, small manifests).
  static Digest FromBytes(absl::string_view data);

  bool empty() const { return value_.empty(); }
  // "sha256" (empty for the empty digest).
  absl::string_view algorithm() const;
  // The 64 hex characters (empty for the empty digest).
  absl::string_view hex() const;
  // The whole "sha256:<hex>" text.
  const std::string& string() const { return value_; }

  friend bool operator==(const Digest& a, const Digest& b) { return a.value_ == b.value_; }
  friend bool operator!=(const Digest& a, const Digest& b) { return a.value_ != b.value_; }
  friend bool operator<(const Digest& a, const Digest& b) { return a.value_ < b.value_; }
  template <typename H>
  friend H AbslHashValue(H h, const Digest& d) {
    return H::combine(std::move(h), d.value_);
  }
  friend std::ostream& operator<<(std::ostream& os, const Digest& d) { return os << d.value_; }

 private:
  explicit Digest(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

// Incremental SHA-256. Move-only; not thread-safe (one owner feeds it).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&& other) noexcept;
  Sha256& operator=(Sha256&& other) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(absl::string_view data);
  // Digest of everything fed since construction or the last Reset(). The stream continues.
  Digest Sum() const;
  // Back to the digest of nothing.
  void Reset();
  // An independent hasher in the same state (to roll back an Update).
  Sha256 Copy() const;
  // Bytes fed since construction or the last Reset().
  int64_t size() const { return size_; }

 private:
  struct Ctx;  // wraps EVP_MD_CTX so OpenSSL headers stay out of this one
  Ctx* ctx_;
  int64_t size_ = 0;
};

// Feeds bytes [0, length) of the file `fd` (read with pread, so the file offset is untouched)
// into `hasher`. kDataLoss if the file is shorter than `length`; an errno status on a read
// error. `length` < 0 means "to end of file". Returns the number of bytes hashed.
absl::StatusOr<int64_t> HashFd(int fd, int64_t length, Sha256& hasher);

}  // namespace berth::content
