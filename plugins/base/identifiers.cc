#include "plugins/base/identifiers.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace berth {
namespace {

bool IsAlnum(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); }
bool IsSeparator(char c) { return c == '.' || c == '_' || c == '-'; }

}  // namespace

absl::Status ValidateIdentifier(absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("identifier must not be empty: invalid argument");
  if (id.size() > kMaxIdentifierLength) {
    return absl::InvalidArgumentError(absl::StrCat("identifier \"", id,
                                                   "\" greater than maximum length (",
                                                   kMaxIdentifierLength,
                                                   " characters): invalid argument"));
  }
  // Runs of alphanumerics separated by single separators, starting and ending alphanumeric.
  bool previous_alnum = false;
  for (char c : id) {
    bool alnum = IsAlnum(c);
    if (!alnum && !(IsSeparator(c) && previous_alnum)) {
      previous_alnum = false;
      break;
    }
    previous_alnum = alnum;
  }
  if (!previous_alnum) {
    return absl::InvalidArgumentError(absl::StrCat(
        "identifier \"", id,
        "\" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument"));
  }
  return absl::OkStatus();
}

absl::Status ValidateLabel(absl::string_view key, absl::string_view value) {
  if (key.empty()) return absl::InvalidArgumentError("label key must not be empty: invalid argument");
  if (key.size() + value.size() > kMaxLabelSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "label key and value greater than maximum size (", kMaxLabelSize, " bytes), key: ",
        key.substr(0, 64), ": invalid argument"));
  }
  return absl::OkStatus();
}

}  // namespace berth
