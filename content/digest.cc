#include "content/digest.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "plugins/base/log.h"
#include "plugins/base/status_util.h"

namespace berth::content {
namespace {

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// Allocation failures inside OpenSSL are treated like std::bad_alloc: fatal.
[[noreturn]] void OpenSslFatal(const char* what) {
  BERTH_LOG(ERROR) << "openssl: " << what << " failed";
  std::abort();
}

}  // namespace

absl::Status Digest::Validate(absl::string_view text) {
  size_t colon = text.find(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return InvalidArgument(absl::StrCat("invalid digest `", text, "`: missing algorithm"));
  }
  absl::string_view alg = text.substr(0, colon);
  absl::string_view hex = text.substr(colon + 1);
  if (alg != kSha256) {
    return InvalidArgument(absl::StrCat("invalid digest `", text, "`: unsupported algorithm"));
  }
  if (hex.size() != kSha256HexSize) {
    return InvalidArgument(absl::StrCat("invalid digest `", text, "`: invalid length"));
  }
  for (char c : hex) {
    if (!IsLowerHex(c)) {
      return InvalidArgument(absl::StrCat("invalid digest `", text, "`: invalid hex"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Digest> Digest::Parse(absl::string_view text) {
  if (absl::Status s = Validate(text); !s.ok()) {
    return s;
  }
  return Digest(std::string(text));
}

Digest Digest::FromSha256Bytes(const unsigned char* bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string value(kSha256);
  value.reserve(kSha256.size() + 1 + kSha256HexSize);
  value.push_back(':');
  for (size_t i = 0; i < kSha256Size; ++i) {
    value.push_back(kHex[bytes[i] >> 4]);
    value.push_back(kHex[bytes[i] & 0xf]);
  }
  return Digest(std::move(value));
}

Digest Digest::FromBytes(absl::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.Sum();
}

absl::string_view Digest::algorithm() const {
  absl::string_view v(value_);
  size_t colon = v.find(':');
  return colon == absl::string_view::npos ? absl::string_view() : v.substr(0, colon);
}

absl::string_view Digest::hex() const {
  absl::string_view v(value_);
  size_t colon = v.find(':');
  return colon == absl::string_view::npos ? absl::string_view() : v.substr(colon + 1);
}

struct Sha256::Ctx {
  EVP_MD_CTX* md;
};

Sha256::Sha256() : ctx_(new Ctx{EVP_MD_CTX_new()}) {
  if (ctx_->md == nullptr) {
    OpenSslFatal("EVP_MD_CTX_new");
  }
  Reset();
}

Sha256::~Sha256() {
  if (ctx_ != nullptr) {
    EVP_MD_CTX_free(ctx_->md);
    delete ctx_;
  }
}

Sha256::Sha256(Sha256&& other) noexcept
    : ctx_(std::exchange(other.ctx_, nullptr)), size_(std::exchange(other.size_, 0)) {}

Sha256& Sha256::operator=(Sha256&& other) noexcept {
  if (this != &other) {
    if (ctx_ != nullptr) {
      EVP_MD_CTX_free(ctx_->md);
      delete ctx_;
    }
    ctx_ = std::exchange(other.ctx_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void Sha256::Update(absl::string_view data) {
  if (!data.empty() && EVP_DigestUpdate(ctx_->md, data.data(), data.size()) != 1) {
    OpenSslFatal("EVP_DigestUpdate");
  }
  size_ += static_cast<int64_t>(data.size());
}

Digest Sha256::Sum() const {
  // Finalize a copy so the stream can go on.
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> copy(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (copy == nullptr || EVP_MD_CTX_copy_ex(copy.get(), ctx_->md) != 1) {
    OpenSslFatal("EVP_MD_CTX_copy_ex");
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(copy.get(), out, &len) != 1 || len != Digest::kSha256Size) {
    OpenSslFatal("EVP_DigestFinal_ex");
  }
  return Digest::FromSha256Bytes(out);
}

Sha256 Sha256::Copy() const {
  Sha256 copy;
  if (EVP_MD_CTX_copy_ex(copy.ctx_->md, ctx_->md) != 1) {
    OpenSslFatal("EVP_MD_CTX_copy_ex");
  }
  copy.size_ = size_;
  return copy;
}

void Sha256::Reset() {
  if (EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1) {
    OpenSslFatal("EVP_DigestInit_ex");
  }
  size_ = 0;
}

absl::StatusOr<int64_t> HashFd(int fd, int64_t length, Sha256& hasher) {
  constexpr size_t kChunk = 1 << 20;
  std::unique_ptr<char[]> buf(new char[kChunk]);
  int64_t done = 0;
  while (length < 0 || done < length) {
    size_t want = kChunk;
    if (length >= 0 && static_cast<int64_t>(want) > length - done) {
      want = static_cast<size_t>(length - done);
    }
    ssize_t n = ::pread(fd, buf.get(), want, done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError(errno, "read", "ingest data");
    }
    if (n == 0) {
      if (length >= 0) {
        return absl::DataLossError(
            absl::StrCat("hash file: short file, ", done, " of ", length, " bytes"));
      }
      break;
    }
    hasher.Update(absl::string_view(buf.get(), static_cast<size_t>(n)));
    done += n;
  }
  return done;
}

}  // namespace berth::content
