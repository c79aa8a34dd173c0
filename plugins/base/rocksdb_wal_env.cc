#include "plugins/base/rocksdb_wal_env.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "plugins/base/unique_fd.h"
#include "rocksdb/file_system.h"

namespace berth {
namespace {

// How far ahead of a log's appends the zeros reach. One chunk costs one journal commit (the
// first sync after it is written) instead of one per append that reaches a new block.
constexpr uint64_t kZeroChunk = 256 << 10;

// A log file that writes zeros ahead of its appends through a second descriptor (pwrite never
// moves the offset RocksDB appends at). RocksDB's close truncates the file to its data; a log
// left unclosed ends in zeros, as a preallocated one always did.
class ZeroAheadLogFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  ZeroAheadLogFile(std::unique_ptr<rocksdb::FSWritableFile> file, UniqueFd fd)
      : rocksdb::FSWritableFileOwnerWrapper(std::move(file)), fd_(std::move(fd)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus zeroed = ZeroAhead(data.size());
    if (!zeroed.ok()) return zeroed;
    return target()->Append(data, options, dbg);
  }

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus zeroed = ZeroAhead(data.size());
    if (!zeroed.ok()) return zeroed;
    return target()->Append(data, options, info, dbg);
  }

 private:
  // Zeros [zeroed_, end of the chunk holding the append's last byte) before the append: the
  // region lies past every byte RocksDB has written, so data is never overwritten.
  rocksdb::IOStatus ZeroAhead(size_t size) {
    appended_ += size;
    static const std::string* const kZeros = new std::string(kZeroChunk, '\0');
    while (zeroed_ < appended_) {
      ssize_t n = pwrite(fd_.get(), kZeros->data(), kZeroChunk, static_cast<off_t>(zeroed_));
      if (n < 0 && errno == EINTR) continue;
      if (n != static_cast<ssize_t>(kZeroChunk)) {
        return rocksdb::IOStatus::IOError("zeroing ahead of the write-ahead log",
                                          n < 0 ? std::strerror(errno) : "short write");
      }
      zeroed_ += kZeroChunk;
    }
    return rocksdb::IOStatus::OK();
  }

  UniqueFd fd_;
  uint64_t appended_ = 0;
  uint64_t zeroed_ = 0;
};

class SizedWalFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  explicit SizedWalFileSystem(std::shared_ptr<rocksdb::FileSystem> target)
      : rocksdb::FileSystemWrapper(std::move(target)) {}

  const char* Name() const override { return "BerthSizedWalFileSystem"; }

  rocksdb::FileOptions OptimizeForLogWrite(const rocksdb::FileOptions& file_options,
                                           const rocksdb::DBOptions& db_options) const override {
    rocksdb::FileOptions optimized = target()->OptimizeForLogWrite(file_options, db_options);
    optimized.fallocate_with_keep_size = false;
    return optimized;
  }

  // Write-ahead logs ("NNNNNN.log"; the info log is "LOG") get zeros written ahead.
  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(fname, options, result, dbg);
    if (!s.ok() || !absl::EndsWith(fname, ".log")) return s;
    UniqueFd fd(open(fname.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) {
      return rocksdb::IOStatus::IOError("open write-ahead log to zero ahead",
                                        std::strerror(errno));
    }
    *result = std::make_unique<ZeroAheadLogFile>(std::move(*result), std::move(fd));
    return s;
  }
};

}  // namespace

rocksdb::Env* SizedWalEnv() {
  static rocksdb::Env* env =
      rocksdb::NewCompositeEnv(
          std::make_shared<SizedWalFileSystem>(rocksdb::FileSystem::Default()))
          .release();
  return env;
}

}  // namespace berth
