#include "services/archive/oci.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace berth::archive {

std::string NormalizeReference(absl::string_view name) {
  std::string out(name);
  size_t slash = out.find('/');
  absl::string_view first = slash == std::string::npos ? "" : absl::string_view(out).substr(0, slash);
  bool has_domain = !first.empty() && (absl::StrContains(first, ".") ||
                                       absl::StrContains(first, ":") || first == "localhost");
  if (!has_domain) {
    out = slash == std::string::npos ? absl::StrCat("docker.io/library/", out)
                                     : absl::StrCat("docker.io/", out);
  }
  if (absl::StrContains(out, "@")) return out;
  size_t last_slash = out.rfind('/');
  if (out.find(':', last_slash == std::string::npos ? 0 : last_slash) == std::string::npos) {
    absl::StrAppend(&out, ":latest");
  }
  return out;
}

std::string FamiliarReference(absl::string_view name) {
  if (absl::ConsumePrefix(&name, "docker.io/")) absl::ConsumePrefix(&name, "library/");
  return std::string(name);
}

bool IsDigestOnlyReference(absl::string_view name) {
  size_t at = name.find('@');
  if (at == absl::string_view::npos) return false;
  absl::string_view repo = name.substr(0, at);
  size_t last_slash = repo.rfind('/');
  return repo.find(':', last_slash == absl::string_view::npos ? 0 : last_slash) ==
         absl::string_view::npos;
}

}  // namespace berth::archive
