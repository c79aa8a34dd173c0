#pragma once

// Turns a containerd 1.6 .proto file into one plain protoc accepts without gogoproto: drops the
// gogo and fieldpath imports, the `option (gogoproto.x) = ...;` and
// `option (containerd.plugin.x) = ...;` statements, and the gogoproto entries of `[...]` field
// and enum value options (the whole bracket when nothing else is left in it). None of these
// change the wire format.

#include <string>

#include "absl/strings/string_view.h"

namespace berth::proto_test {

std::string StripGoGo(absl::string_view proto_text);

}  // namespace berth::proto_test
