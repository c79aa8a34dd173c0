#pragma once

// The host's OCI platform (GOOS/GOARCH names, as image indexes spell them) and matching an
// index entry against it. Shared by the daemon (unpack, export, pull) and berthctl.

#include <string>

#include "absl/strings/string_view.h"

namespace berth {

struct Platform {
  std::string os;            // "linux"
  std::string architecture;  // "amd64", "arm64", "arm", ...
  std::string variant;       // "v7", "v8" or ""
};

// uname's machine as a GOARCH name: x86_64 -> amd64, aarch64 -> arm64, armv7l -> arm.
std::string HostArchitecture();

Platform HostPlatform();

// Parses "os/arch[/variant]" (e.g. "linux/arm64/v8"); an empty os means the host's.
Platform ParsePlatform(absl::string_view text);

std::string FormatPlatform(const Platform& platform);

// Whether an image built for `have` runs on `want`: os and architecture equal, and the variant
// equal when both name one (arm64's "v8" is its default and matches "").
bool PlatformMatches(const Platform& want, const Platform& have);

}  // namespace berth
