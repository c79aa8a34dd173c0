#pragma once

// Plugin types. Berth keeps containerd's type strings so that `ctr plugins ls`, its filters and
// clients that look for a type (e.g. io.containerd.snapshotter.v1) see what they expect.
// Types that containerd has no equivalent for use the io.berth.* prefix.

namespace berth::plugins {

inline constexpr char kContentPlugin[] = "io.containerd.content.v1";
inline constexpr char kSnapshotPlugin[] = "io.containerd.snapshotter.v1";
inline constexpr char kMetadataPlugin[] = "io.containerd.metadata.v1";
inline constexpr char kDiffPlugin[] = "io.containerd.differ.v1";
inline constexpr char kGcPlugin[] = "io.containerd.gc.v1";
inline constexpr char kEventPlugin[] = "io.containerd.event.v1";
inline constexpr char kRuntimePlugin[] = "io.containerd.runtime.v2";
inline constexpr char kServicePlugin[] = "io.containerd.service.v1";
inline constexpr char kGrpcPlugin[] = "io.containerd.grpc.v1";
inline constexpr char kTtrpcPlugin[] = "io.containerd.ttrpc.v1";
inline constexpr char kInternalPlugin[] = "io.containerd.internal.v1";

// Requires entry meaning "every other plugin type" (initialised after all of them).
inline constexpr char kAllPlugins[] = "*";

}  // namespace berth::plugins
