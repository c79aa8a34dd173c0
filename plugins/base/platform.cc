#include "plugins/base/platform.h"

#include <sys/utsname.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace berth {
namespace {

std::string NormalVariant(absl::string_view architecture, absl::string_view variant) {
  if (architecture == "arm64" && variant == "v8") return "";
  return std::string(variant);
}

}  // namespace

std::string HostArchitecture() {
  struct utsname u;
  if (uname(&u) != 0) return "amd64";
  std::string machine = u.machine;
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  if (machine.rfind("arm", 0) == 0) return "arm";
  if (machine == "i686" || machine == "i386") return "386";
  return machine;
}

Platform HostPlatform() { return Platform{"linux", HostArchitecture(), ""}; }

Platform ParsePlatform(absl::string_view text) {
  std::vector<std::string> parts = absl::StrSplit(text, '/');
  Platform platform = HostPlatform();
  if (!parts.empty() && !parts[0].empty()) platform.os = parts[0];
  platform.architecture = parts.size() > 1 ? parts[1] : HostArchitecture();
  platform.variant = parts.size() > 2 ? parts[2] : "";
  return platform;
}

std::string FormatPlatform(const Platform& platform) {
  std::string out = absl::StrCat(platform.os, "/", platform.architecture);
  if (!platform.variant.empty()) absl::StrAppend(&out, "/", platform.variant);
  return out;
}

bool PlatformMatches(const Platform& want, const Platform& have) {
  if (want.os != have.os || want.architecture != have.architecture) return false;
  std::string want_variant = NormalVariant(want.architecture, want.variant);
  std::string have_variant = NormalVariant(have.architecture, have.variant);
  return want_variant.empty() || have_variant.empty() || want_variant == have_variant;
}

}  // namespace berth
