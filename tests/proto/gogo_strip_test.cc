#include "tests/proto/gogo_strip.h"

#include <string>

#include "gtest/gtest.h"

namespace berth::proto_test {
namespace {

TEST(GoGoStripTest, DropsGoGoAndFieldpathStatements) {
  const char* in = R"(syntax = "proto3";
import weak "gogoproto/gogo.proto";
import weak "github.com/containerd/containerd/protobuf/plugin/fieldpath.proto";
import "google/protobuf/any.proto";
option go_package = "x";
option (containerd.plugin.fieldpath_all) = true;
message M {
	option (containerd.plugin.fieldpath) = true;
	string a = 1;
}
enum E {
	option (gogoproto.goproto_enum_prefix) = false;
	A = 0;
}
)";
  const char* want = R"(syntax = "proto3";
import "google/protobuf/any.proto";
option go_package = "x";
message M {
	string a = 1;
}
enum E {
	A = 0;
}
)";
  EXPECT_EQ(StripGoGo(in), want);
}

TEST(GoGoStripTest, DropsGoGoFieldAndEnumValueOptions) {
  const std::string in = std::string(R"(message M {
	string digest = 2 [(gogoproto.customtype) = "github.com/opencontainers/go-digest.Digest", )") +
                         R"((gogoproto.nullable) = false];
	repeated R r = 1	[(gogoproto.nullable) = false];
	string os = 3 [(gogoproto.customname) = "OS"];
}
enum E {
	UNKNOWN = 0 [(gogoproto.enumvalue_customname) = "StatusUnknown"];
}
)";
  const char* want = R"(message M {
	string digest = 2;
	repeated R r = 1;
	string os = 3;
}
enum E {
	UNKNOWN = 0;
}
)";
  EXPECT_EQ(StripGoGo(in), want);
}

TEST(GoGoStripTest, KeepsOtherOptionsAndComments) {
  const char* in = R"(message M {
	// [(gogoproto.nullable) = false] in a comment stays.
	string a = 1 [deprecated = true, (gogoproto.nullable) = false];
	string b = 2 [(gogoproto.moretags) = "x,[y]", json_name = "bee"];
	/* [block] */ string c = 3;
}
)";
  const char* want = R"(message M {
	// [(gogoproto.nullable) = false] in a comment stays.
	string a = 1 [deprecated = true];
	string b = 2 [json_name = "bee"];
	/* [block] */ string c = 3;
}
)";
  EXPECT_EQ(StripGoGo(in), want);
}

TEST(GoGoStripTest, LeavesPlainProtoUnchanged) {
  const char* in =
      "syntax = \"proto3\";\npackage p;\nmessage M {\n  map<string, string> l = 1;\n}\n";
  EXPECT_EQ(StripGoGo(in), in);
}

}  // namespace
}  // namespace berth::proto_test
