#include "tests/proto/descriptor_diff.h"

#include "absl/strings/str_cat.h"

namespace berth::proto_test {
namespace {

using google::protobuf::DescriptorProto;
using google::protobuf::EnumDescriptorProto;
using google::protobuf::FieldDescriptorProto;
using google::protobuf::FileDescriptorProto;
using google::protobuf::FileDescriptorSet;
using google::protobuf::ServiceDescriptorProto;

std::string Qualify(const std::string& scope, const std::string& name) {
  return scope.empty() ? name : absl::StrCat(scope, ".", name);
}

std::string FieldAttributes(const DescriptorProto* parent, const FieldDescriptorProto& field) {
  std::string oneof;
  if (parent != nullptr && field.has_oneof_index() &&
      field.oneof_index() < parent->oneof_decl_size()) {
    oneof = parent->oneof_decl(field.oneof_index()).name();
  }
  return absl::StrCat(
      "number=", field.number(), " label=", FieldDescriptorProto::Label_Name(field.label()),
      " type=", FieldDescriptorProto::Type_Name(field.type()), " type_name=", field.type_name(),
      " extendee=", field.extendee(), " oneof=", oneof,
      " proto3_optional=", field.proto3_optional(), " json_name=", field.json_name());
}

void IndexEnum(const std::string& scope, const EnumDescriptorProto& type, DescriptorIndex& index) {
  const std::string name = Qualify(scope, type.name());
  index[absl::StrCat("enum ", name)] = "";
  for (const auto& value : type.value()) {
    // Enum values are scoped like siblings of their enum, but keyed under it for clarity.
    index[absl::StrCat("enum_value ", name, ".", value.name())] =
        absl::StrCat("number=", value.number());
  }
}

void IndexMessage(const std::string& scope, const DescriptorProto& type, DescriptorIndex& index) {
  const std::string name = Qualify(scope, type.name());
  index[absl::StrCat("message ", name)] = absl::StrCat("map_entry=", type.options().map_entry());
  for (const auto& field : type.field()) {
    index[absl::StrCat("field ", name, ".", field.name())] = FieldAttributes(&type, field);
  }
  for (const auto& oneof : type.oneof_decl()) {
    index[absl::StrCat("oneof ", name, ".", oneof.name())] = "";
  }
  for (const auto& extension : type.extension()) {
    index[absl::StrCat("extension ", name, ".", extension.name())] =
        FieldAttributes(nullptr, extension);
  }
  for (const auto& nested : type.nested_type()) {
    IndexMessage(name, nested, index);
  }
  for (const auto& nested : type.enum_type()) {
    IndexEnum(name, nested, index);
  }
}

void IndexService(const std::string& scope, const ServiceDescriptorProto& service,
                  DescriptorIndex& index) {
  const std::string name = Qualify(scope, service.name());
  index[absl::StrCat("service ", name)] = "";
  for (const auto& method : service.method()) {
    index[absl::StrCat("method ", name, ".", method.name())] =
        absl::StrCat("input=", method.input_type(), " output=", method.output_type(),
                     " client_streaming=", method.client_streaming(),
                     " server_streaming=", method.server_streaming());
  }
}

void IndexFile(const FileDescriptorProto& file, DescriptorIndex& index) {
  for (const auto& type : file.message_type()) {
    IndexMessage(file.package(), type, index);
  }
  for (const auto& type : file.enum_type()) {
    IndexEnum(file.package(), type, index);
  }
  for (const auto& service : file.service()) {
    IndexService(file.package(), service, index);
  }
  for (const auto& extension : file.extension()) {
    index[absl::StrCat("extension ", Qualify(file.package(), extension.name()))] =
        FieldAttributes(nullptr, extension);
  }
}

}  // namespace

DescriptorIndex IndexDescriptorSet(const FileDescriptorSet& set) {
  DescriptorIndex index;
  for (const auto& file : set.file()) {
    IndexFile(file, index);
  }
  return index;
}

std::vector<std::string> DiffDescriptorSets(const FileDescriptorSet& expected,
                                            const FileDescriptorSet& actual,
                                            const std::string& expected_name,
                                            const std::string& actual_name) {
  const DescriptorIndex want = IndexDescriptorSet(expected);
  const DescriptorIndex got = IndexDescriptorSet(actual);
  std::vector<std::string> diffs;
  for (const auto& [key, attributes] : want) {
    auto it = got.find(key);
    if (it == got.end()) {
      diffs.push_back(absl::StrCat(key, ": in ", expected_name, " (", attributes, "), missing in ",
                                   actual_name));
    } else if (it->second != attributes) {
      diffs.push_back(absl::StrCat(key, ": ", expected_name, " has {", attributes, "}, ",
                                   actual_name, " has {", it->second, "}"));
    }
  }
  for (const auto& [key, attributes] : got) {
    if (!want.contains(key)) {
      diffs.push_back(absl::StrCat(key, ": in ", actual_name, " (", attributes, "), missing in ",
                                   expected_name));
    }
  }
  return diffs;
}

}  // namespace berth::proto_test
