#include "plugins/base/rocksdb_wal_env.h"

#include <memory>
#include <utility>

#include "rocksdb/file_system.h"

namespace berth {
namespace {

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
