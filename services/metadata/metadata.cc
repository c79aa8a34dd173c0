#include "services/metadata/metadata.h"

#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/types.h"

namespace berth::metadata {

void RegisterMetadataPlugin(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kMetadataPlugin,
      .id = "rocksdb",
      .requires_types = {plugins::kContentPlugin},
      .default_config = "sync_writes = true\n",
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        RETURN_IF_ERROR(MkdirAll(context.root(), 0711));
        DbOptions options;
        options.sync_writes = context.config()["sync_writes"].value_or(true);
        std::string path = context.root() + "/meta.db";
        ASSIGN_OR_RETURN(std::unique_ptr<Db> db, Db::Open(path, options));
        context.meta().exports["path"] = path;
        absl::StatusOr<content::ContentStore*> backend =
            context.Get<content::ContentStore>(plugins::kContentPlugin);
        return plugins::Instance::Of(std::make_unique<Metadata>(
            std::move(db), backend.ok() ? *backend : nullptr));
      }});
}

}  // namespace berth::metadata
