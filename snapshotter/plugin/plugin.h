#pragma once

// The built-in snapshotter plugins (type io.containerd.snapshotter.v1), one line each in
// services/server/builtins.cc. Each instance is a snapshotter::Snapshotter (get it with
// context.GetAll<snapshotter::Snapshotter>(kSnapshotPlugin)); its root is
// <daemon root>/io.containerd.snapshotter.v1.<id>.
//
//   overlayfs  OverlaySnapshotter; "skip" where overlayfs does not work on the root's
//              filesystem. Mount options go through short links under <daemon state>/l.
//   native     NativeSnapshotter (copies), works everywhere.
//   <name>     for each [proxy_plugins.<name>] with type = "snapshot": a ProxySnapshotter
//              forwarding to the external snapshotter at its address (RegisterProxyPlugins).

#include <map>
#include <string>

#include "plugins/config.h"
#include "plugins/registry.h"

namespace berth::snapshotter {

void RegisterOverlayPlugin(plugins::Registry& registry);
void RegisterNativePlugin(plugins::Registry& registry);
// Registers the "snapshot" entries of `proxies`; other types are left to their owners.
void RegisterProxyPlugins(plugins::Registry& registry,
                          const std::map<std::string, plugins::ProxyPluginConfig>& proxies);

}  // namespace berth::snapshotter
