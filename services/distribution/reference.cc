#include "services/distribution/reference.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "content/digest.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"

namespace berth::distribution {
namespace {

bool ValidPath(absl::string_view path) {
  if (path.empty() || path.front() == '/' || path.back() == '/') return false;
  for (char c : path) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || c == '/';
    if (!ok) return false;
  }
  return !absl::StrContains(path, "//");
}

bool ValidTag(absl::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  for (char c : tag) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string Reference::String() const {
  std::string out = absl::StrCat(domain, "/", path);
  if (!tag.empty()) absl::StrAppend(&out, ":", tag);
  if (!digest.empty()) absl::StrAppend(&out, "@", digest);
  return out;
}

absl::StatusOr<Reference> ParseNormalizedReference(absl::string_view normalized) {
  auto bad = [&](absl::string_view why) {
    return InvalidArgument(absl::StrCat("invalid reference \"", normalized, "\": ", why));
  };
  Reference ref;
  absl::string_view rest = normalized;
  size_t at = rest.find('@');
  if (at != absl::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    if (!content::Digest::Parse(ref.digest).ok()) return bad("malformed digest");
    rest = rest.substr(0, at);
  }
  size_t slash = rest.find('/');
  if (slash == absl::string_view::npos || slash == 0) return bad("no registry domain");
  ref.domain = std::string(rest.substr(0, slash));
  rest = rest.substr(slash + 1);
  size_t colon = rest.rfind(':');
  if (colon != absl::string_view::npos) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!ValidTag(ref.tag)) return bad("malformed tag");
  }
  ref.path = std::string(rest);
  if (!ValidPath(ref.path)) return bad("repository names are lower case letters, digits, . _ - /");
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

std::string RegistryHost(absl::string_view domain) {
  return domain == "docker.io" ? "registry-1.docker.io" : std::string(domain);
}

bool IsLoopbackHost(absl::string_view host) {
  absl::string_view name = host;
  if (absl::StartsWith(name, "[")) {
    return absl::StartsWith(name, "[::1]");
  }
  size_t colon = name.find(':');
  if (colon != absl::string_view::npos) name = name.substr(0, colon);
  return name == "localhost" || absl::StartsWith(name, "127.");
}

}  // namespace berth::distribution
