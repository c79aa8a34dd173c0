#include "snapshotter/snapshotter.h"

#include "absl/strings/ascii.h"

namespace berth::snapshotter {

absl::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kView:
      return "View";
    case Kind::kActive:
      return "Active";
    case Kind::kCommitted:
      return "Committed";
    case Kind::kUnknown:
      break;
  }
  return "Unknown";
}

Kind ParseKind(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  if (lower == "view") return Kind::kView;
  if (lower == "active") return Kind::kActive;
  if (lower == "committed") return Kind::kCommitted;
  return Kind::kUnknown;
}

}  // namespace berth::snapshotter
