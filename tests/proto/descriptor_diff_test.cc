#include "tests/proto/descriptor_diff.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace berth::proto_test {
namespace {

using google::protobuf::DescriptorProto;
using google::protobuf::FieldDescriptorProto;
using google::protobuf::FileDescriptorProto;
using google::protobuf::FileDescriptorSet;

// A small file with one of everything the comparator looks at.
constexpr char kSample[] = R"pb(
  file {
    name: "sample.proto"
    package: "pkg"
    message_type {
      name: "Msg"
      field { name: "id" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "id" }
      field {
        name: "kind"
        number: 2
        label: LABEL_OPTIONAL
        type: TYPE_ENUM
        type_name: ".pkg.Kind"
        json_name: "kind"
      }
      field {
        name: "a"
        number: 3
        label: LABEL_OPTIONAL
        type: TYPE_INT64
        oneof_index: 0
        json_name: "a"
      }
      oneof_decl { name: "choice" }
      nested_type {
        name: "Inner"
        field { name: "v" number: 1 label: LABEL_REPEATED type: TYPE_BYTES json_name: "v" }
      }
    }
    enum_type {
      name: "Kind"
      value { name: "UNKNOWN" number: 0 }
      value { name: "VIEW" number: 1 }
    }
    service {
      name: "Svc"
      method { name: "Get" input_type: ".pkg.Msg" output_type: ".pkg.Msg" }
    }
  }
)pb";

FileDescriptorSet Sample() {
  FileDescriptorSet set;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(kSample, &set));
  return set;
}

FileDescriptorProto& File(FileDescriptorSet& set) { return *set.mutable_file(0); }
DescriptorProto& Msg(FileDescriptorSet& set) { return *File(set).mutable_message_type(0); }
FieldDescriptorProto& Field(FileDescriptorSet& set, int i) { return *Msg(set).mutable_field(i); }

struct Mutation {
  std::string name;
  std::function<void(FileDescriptorSet&)> apply;
  // Text the reported difference must contain.
  std::string reported;
};

std::vector<Mutation> Mutations() {
  return {
      {"field number", [](auto& s) { Field(s, 0).set_number(7); }, "field pkg.Msg.id"},
      {"field type", [](auto& s) { Field(s, 0).set_type(FieldDescriptorProto::TYPE_BYTES); },
       "field pkg.Msg.id"},
      {"field label", [](auto& s) { Field(s, 0).set_label(FieldDescriptorProto::LABEL_REPEATED); },
       "field pkg.Msg.id"},
      {"field type_name", [](auto& s) { Field(s, 1).set_type_name(".pkg.Other"); },
       "field pkg.Msg.kind"},
      {"field renamed", [](auto& s) { Field(s, 0).set_name("ID"); }, "field pkg.Msg.ID"},
      {"field added",
       [](auto& s) {
         auto* f = Msg(s).add_field();
         f->set_name("extra");
         f->set_number(9);
       },
       "field pkg.Msg.extra"},
      {"field left its oneof", [](auto& s) { Field(s, 2).clear_oneof_index(); }, "field pkg.Msg.a"},
      {"nested field",
       [](auto& s) { Msg(s).mutable_nested_type(0)->mutable_field(0)->set_number(2); },
       "field pkg.Msg.Inner.v"},
      {"message removed", [](auto& s) { Msg(s).clear_nested_type(); }, "message pkg.Msg.Inner"},
      {"enum value number",
       [](auto& s) { File(s).mutable_enum_type(0)->mutable_value(1)->set_number(5); },
       "enum_value pkg.Kind.VIEW"},
      {"enum value added",
       [](auto& s) {
         auto* v = File(s).mutable_enum_type(0)->add_value();
         v->set_name("ACTIVE");
         v->set_number(2);
       },
       "enum_value pkg.Kind.ACTIVE"},
      {"package", [](auto& s) { File(s).set_package("other"); }, "message pkg.Msg"},
      {"method output",
       [](auto& s) { File(s).mutable_service(0)->mutable_method(0)->set_output_type(".pkg.Kind"); },
       "method pkg.Svc.Get"},
      {"method streaming",
       [](auto& s) { File(s).mutable_service(0)->mutable_method(0)->set_server_streaming(true); },
       "method pkg.Svc.Get"},
      {"method removed", [](auto& s) { File(s).mutable_service(0)->clear_method(); },
       "method pkg.Svc.Get"},
      {"service renamed", [](auto& s) { File(s).mutable_service(0)->set_name("Other"); },
       "service pkg.Svc"},
  };
}

TEST(DescriptorDiffTest, IdenticalSetsAgree) {
  EXPECT_TRUE(DiffDescriptorSets(Sample(), Sample()).empty());
}

TEST(DescriptorDiffTest, FileNamesDoNotMatter) {
  FileDescriptorSet renamed = Sample();
  File(renamed).set_name("elsewhere/other.proto");
  EXPECT_TRUE(DiffDescriptorSets(Sample(), renamed).empty());
}

TEST(DescriptorDiffTest, ReportsEveryKindOfChangeInBothDirections) {
  for (const Mutation& mutation : Mutations()) {
    FileDescriptorSet changed = Sample();
    mutation.apply(changed);
    for (bool forward : {true, false}) {
      std::vector<std::string> diffs =
          forward ? DiffDescriptorSets(Sample(), changed) : DiffDescriptorSets(changed, Sample());
      bool named = false;
      for (const std::string& diff : diffs) named |= absl::StrContains(diff, mutation.reported);
      EXPECT_TRUE(named) << mutation.name << (forward ? "" : " (reversed)") << ": "
                         << absl::StrJoin(diffs, "\n");
    }
  }
}

}  // namespace
}  // namespace berth::proto_test
