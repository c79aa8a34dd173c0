#pragma once

// Compares two protobuf descriptor sets by what matters on the wire and to generated code:
// every message (nested ones too), field (name, number, type, type_name, label, oneof), enum
// and enum value, extension, service and method, each keyed by its full name.

#include <map>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.pb.h"

namespace berth::proto_test {

// "<kind> <full.name>" -> the attributes compared for it, e.g.
//   "field containerd.types.Mount.type" -> "number=1 label=LABEL_OPTIONAL type=TYPE_STRING ...".
using DescriptorIndex = std::map<std::string, std::string>;

DescriptorIndex IndexDescriptorSet(const google::protobuf::FileDescriptorSet& set);

// One human-readable line per difference, naming the element; empty when the sets agree.
// `expected_name` and `actual_name` label the two sides in the messages.
std::vector<std::string> DiffDescriptorSets(const google::protobuf::FileDescriptorSet& expected,
                                            const google::protobuf::FileDescriptorSet& actual,
                                            const std::string& expected_name = "expected",
                                            const std::string& actual_name = "actual");

}  // namespace berth::proto_test
