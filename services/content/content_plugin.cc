#include "services/content/content_plugin.h"

#include "content/local/local_store.h"
#include "plugins/base/status_macros.h"
#include "plugins/types.h"

namespace berth::services {

void RegisterContentPlugin(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kContentPlugin,
      .id = "content",
      .requires_types = {},
      .default_config = "",
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        ASSIGN_OR_RETURN(std::unique_ptr<content::local::LocalContentStore> store,
                         content::local::LocalContentStore::Create(context.root()));
        context.meta().exports["root"] = context.root();
        std::unique_ptr<content::ContentStore> base = std::move(store);
        return plugins::Instance::Of<content::ContentStore>(std::move(base));
      }});
}

}  // namespace berth::services
