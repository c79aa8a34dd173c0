#include "snapshotter/plugin/plugin.h"

#include <memory>

#include "absl/strings/str_cat.h"

#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/types.h"
#include "snapshotter/native/native_snapshotter.h"
#include "snapshotter/overlay/overlay_snapshotter.h"
#include "snapshotter/proxy/proxy_snapshotter.h"

namespace berth::snapshotter {

void RegisterOverlayPlugin(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kSnapshotPlugin,
      .id = "overlayfs",
      .requires_types = {},
      .default_config = "async_remove = false\n",
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        RETURN_IF_ERROR(MkdirAll(context.root(), 0700));
        if (absl::Status supported = overlay::CheckOverlaySupported(context.root());
            !supported.ok()) {
          return plugins::SkipPlugin(supported.message());
        }
        overlay::OverlayOptions options;
        options.link_dir = context.daemon().state + "/l";
        options.async_remove = context.config()["async_remove"].value_or(false);
        // In berthd every backend sits under the metadata snapshot store, whose garbage
        // collection removes backend snapshots without a record: a removal the disk has not
        // seen yet when the machine goes down is finished there.
        options.synced_remove = false;
        ASSIGN_OR_RETURN(std::unique_ptr<overlay::OverlaySnapshotter> overlay,
                         overlay::OverlaySnapshotter::Create(context.root(), options));
        context.meta().exports["root"] = context.root();
        return plugins::Instance::Of<Snapshotter>(std::move(overlay));
      }});
}

void RegisterNativePlugin(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kSnapshotPlugin,
      .id = "native",
      .requires_types = {},
      .default_config = "",
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        ASSIGN_OR_RETURN(std::unique_ptr<native::NativeSnapshotter> native,
                         native::NativeSnapshotter::Create(context.root()));
        context.meta().exports["root"] = context.root();
        return plugins::Instance::Of<Snapshotter>(std::move(native));
      }});
}

void RegisterProxyPlugins(plugins::Registry& registry,
                          const std::map<std::string, plugins::ProxyPluginConfig>& proxies) {
  for (const auto& [name, proxy] : proxies) {
    if (proxy.type != "snapshot") continue;
    (void)registry.Register(plugins::Registration{
        .type = plugins::kSnapshotPlugin,
        .id = name,
        .requires_types = {},
        .default_config = "",
        .init = [name = name, address = proxy.address](
                    plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
          if (address.empty()) {
            return absl::InvalidArgumentError(
                absl::StrCat("proxy plugin ", name, ": address must be set"));
          }
          context.meta().exports["address"] = address;
          return plugins::Instance::Of<Snapshotter>(
              std::make_unique<proxy::ProxySnapshotter>(proxy::DialUnix(address), name));
        }});
  }
}

}  // namespace berth::snapshotter
