#pragma once

// containerd's identifier and label rules, shared by every service that names things:
//  - identifiers (namespaces, container ids, lease ids, ...): 1-76 characters matching
//    ^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$   (violations are kInvalidArgument);
//  - labels: key and value together at most 4096 bytes, key not empty.

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace berth {

inline constexpr size_t kMaxIdentifierLength = 76;
inline constexpr size_t kMaxLabelSize = 4096;

absl::Status ValidateIdentifier(absl::string_view id);
absl::Status ValidateLabel(absl::string_view key, absl::string_view value);

template <typename Map>
absl::Status ValidateLabels(const Map& labels) {
  for (const auto& [key, value] : labels) {
    absl::Status status = ValidateLabel(key, value);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace berth
