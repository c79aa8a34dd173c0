#include "runtime/v2/runtime_plugin.h"

#include <unistd.h>

#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/types.h"
#include "runtime/v2/task_manager.h"

namespace berth::runtime_v2 {
namespace {

std::string SelfExe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("berthd");
}

}  // namespace

void RegisterRuntimePlugin(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kRuntimePlugin,
      .id = "task",
      .requires_types = {plugins::kEventPlugin},
      // spare_shim: keep one berth-shim started ahead of Tasks.Create (spare_shims.h).
      .default_config = "spare_shim = true\n",
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        ASSIGN_OR_RETURN(auto* exchange, context.Get<events::Exchange>(plugins::kEventPlugin));
        ManagerOptions options{
            .state_dir = context.state(),
            .root_dir = context.root(),
            .env = {.grpc_address = context.daemon().address,
                    .ttrpc_address = context.daemon().ttrpc_address,
                    .publish_binary = SelfExe(),
                    .debug = log::GetLevel() == log::Level::kDebug},
            .spare_shim = context.config()["spare_shim"].value_or(true),
        };
        context.meta().platforms.push_back("linux/amd64");
        ASSIGN_OR_RETURN(std::unique_ptr<TaskManager> manager,
                         TaskManager::Start(std::move(options), exchange));
        return plugins::Instance::Of(std::move(manager));
      }});
}

}  // namespace berth::runtime_v2
