#include "plugins/base/filters.h"

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::filters {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct Entry {
  std::string name;
  std::string other;
  std::map<std::string, std::string> labels;
};

// The corpus of containerd's filter_test.go, rebuilt.
const std::vector<Entry>& Corpus() {
  static const auto* corpus = new std::vector<Entry>{
      {"foo", "", {{"foo", "true"}}},                                             // 0
      {"bar", "", {}},                                                            // 1
      {"foo", "", {{"foo", "present"}, {"more complex label", "present"}}},       // 2
      {"bar", "", {{"bar", "true"}}},                                             // 3
      {"fooer", "", {{"more complex label with \\ and \"", "present"}}},          // 4
      {"fooer", "", {{"more complex label with \\ and \".post", "present"}}},     // 5
      {"baz", "too complex, yo", {}},                                             // 6
      {"bazo", "abc", {}},                                                        // 7
      {"compound", "", {{"foo", "omg_asdf.asdf-qwer"}}},                          // 8
  };
  return *corpus;
}

// Indices of the corpus entries `expression` selects; fails the test on a parse error.
std::vector<int> Select(absl::string_view expression) {
  absl::StatusOr<Filter> filter = Parse(expression);
  EXPECT_TRUE(filter.ok()) << expression << ": " << filter.status();
  if (!filter.ok()) return {-1};
  std::vector<int> selected;
  for (size_t i = 0; i < Corpus().size(); ++i) {
    const Entry& e = Corpus()[i];
    if (filter->Match(FieldAdaptor().Add("name", e.name).Add("other", e.other)
                          .AddMap("labels", e.labels))) {
      selected.push_back(static_cast<int>(i));
    }
  }
  return selected;
}

// The error message of parsing `expression` ("" if it parsed).
std::string ParseError(absl::string_view expression) {
  absl::StatusOr<Filter> filter = Parse(expression);
  if (filter.ok()) return "";
  EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(filter.status().message());
}

TEST(FiltersTest, EmptyMatchesEverything) {
  EXPECT_THAT(Select(""), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8));
  EXPECT_TRUE(Parse("")->MatchesAll());
  EXPECT_FALSE(Parse("name")->MatchesAll());
  EXPECT_TRUE(Filter().MatchesAll());
}

TEST(FiltersTest, Presence) {
  EXPECT_THAT(Select("name"), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8));
  EXPECT_THAT(Select("labels.foo"), ElementsAre(0, 2, 8));
  EXPECT_THAT(Select("labels.foo,name"), ElementsAre(0, 2, 8));
  EXPECT_THAT(Select("other"), ElementsAre(6, 7));
  EXPECT_THAT(Select("missing"), IsEmpty());
}

TEST(FiltersTest, Equality) {
  EXPECT_THAT(Select("labels.foo==true"), ElementsAre(0));
  EXPECT_THAT(Select("labels.foo==omg_asdf.asdf-qwer"), ElementsAre(8));
  EXPECT_THAT(Select("name==bar"), ElementsAre(1, 3));
  EXPECT_THAT(Select("name!=bar"), ElementsAre(0, 2, 4, 5, 6, 7, 8));
  EXPECT_THAT(Select("name==bar,labels.bar"), ElementsAre(3));
  EXPECT_THAT(Select("name==bar,labels.bar==true"), ElementsAre(3));
  EXPECT_THAT(Select("name==bar,labels.bar==wrong"), IsEmpty());
  EXPECT_THAT(Select("other==\"too complex, yo\""), ElementsAre(6));
}

TEST(FiltersTest, AbsentFieldsCountAsEmptyForNotEqualAndRegexp) {
  EXPECT_THAT(Select("other!=abc"), ElementsAre(0, 1, 2, 3, 4, 5, 6, 8));
  EXPECT_THAT(Select("other~=^$"), ElementsAre(0, 1, 2, 3, 4, 5, 8));
  EXPECT_THAT(Select("other==\"\""), IsEmpty());  // == needs presence
}

TEST(FiltersTest, Regexp) {
  EXPECT_THAT(Select("other~=[abc]+,name!=foo"), ElementsAre(6, 7));
  EXPECT_THAT(Select("other~=/[abc]+/,name!=foo"), ElementsAre(6, 7));
  EXPECT_THAT(Select("other~=/[abc]{1,2}/,name!=foo"), ElementsAre(6, 7));
  EXPECT_THAT(Select("other~=|[abc]{1,2}|,name!=foo"), ElementsAre(6, 7));
  // Valid syntax that matches nothing.
  EXPECT_THAT(Select("other~=/[abc]{0,1}\"\\//,name!=foo"), IsEmpty());
  EXPECT_THAT(Select("name~=^ba"), ElementsAre(1, 3, 6, 7));  // unanchored search
  EXPECT_THAT(Select("name~=\"^(?i)BAZ$\""), ElementsAre(6));  // Go/RE2 flags
  EXPECT_THAT(Select("name~=/o\\/b/"), IsEmpty());               // \/ inside /.../
}

TEST(FiltersTest, QuotedFieldPaths) {
  EXPECT_THAT(Select(R"(name==foo,labels."more complex label")"), ElementsAre(2));
  EXPECT_THAT(Select(R"(labels."more complex label with \\ and \""==present)"), ElementsAre(4));
  EXPECT_THAT(Select(R"(labels."more complex label with \\ and \"".post==present)"),
              ElementsAre(5));
}

TEST(FiltersTest, WhiteSpace) {
  EXPECT_THAT(Select("name == bar"), ElementsAre(1, 3));
  EXPECT_THAT(Select("  name==bar, labels.bar"), ElementsAre(3));
  // containerd does not skip spaces after a value or after a bare fieldpath.
  EXPECT_EQ(ParseError("name==bar "), "filters: parse error: [name==bar >| |< ]: "
                                      "unexpected input:  : invalid argument");
}

TEST(FiltersTest, ContainerdParseErrors) {
  EXPECT_EQ(ParseError("labels.|foo|==omg_asdf.asdf-qwer"),
            "filters: parse error: [labels. >|||< foo|==omg_asdf.asdf-qwer]: "
            "invalid quote encountered: invalid argument");
  EXPECT_EQ(ParseError(R"(labels.?"more complex label with \\ and \"".post==present)"),
            R"(filters: parse error: [labels. >|?|< "more complex label with \\ and \"".post)"
            R"(==present]: expected field or quoted: invalid argument)");
  EXPECT_EQ(ParseError("name==foo,"),
            "filters: parse error: [name==foo,]: expected field or quoted: invalid argument");
  EXPECT_EQ(ParseError("labels."),
            "filters: parse error: [labels.]: expected field or quoted: invalid argument");
  EXPECT_EQ(ParseError("image~=,id?=?fbaq"),
            "filters: parse error: [image~= >|,|< id?=?fbaq]: expected value or quoted: "
            "invalid argument");
  EXPECT_EQ(ParseError("labels.ns/key==value"),
            "filters: parse error: [labels.ns >|/|< key==value]: quoted literal not terminated: "
            "invalid argument");
  EXPECT_EQ(ParseError("labels.key==/value"),
            "filters: parse error: [labels.key== >|/|< value]: quoted literal not terminated: "
            "invalid argument");
}

TEST(FiltersTest, MoreParseErrors) {
  EXPECT_EQ(ParseError("name=bar"),
            "filters: parse error: [name >|=|< bar]: unsupported operator \"=\": invalid argument");
  EXPECT_EQ(ParseError("name===bar"), "filters: parse error: [name >|=|< ==bar]: "
                                      "unsupported operator \"===\": invalid argument");
  EXPECT_EQ(ParseError("labels.foo bar"),
            "filters: parse error: [labels.foo  >|b|< ar]: expected an operator "
            "(\"==\"|\"!=\"|\"~=\"): invalid argument");
  EXPECT_EQ(ParseError("name==\"x\"y"),
            "filters: parse error: [name==\"x\" >|y|< ]: unexpected input: y: invalid argument");
  EXPECT_EQ(ParseError("name==|foo|"), "filters: parse error: [name== >|||< foo|]: "
                                       "invalid quote encountered: invalid argument");
  EXPECT_EQ(ParseError("name=="), "filters: parse error: [name==]: expected value or quoted: "
                                  "invalid argument");
  EXPECT_EQ(ParseError(" "), "filters: parse error: [ ]: expected field or quoted: "
                             "invalid argument");
  EXPECT_EQ(ParseError(","), "filters: parse error: [ >|,|< ]: expected field or quoted: "
                             "invalid argument");
  EXPECT_EQ(ParseError("name==.x"), "filters: parse error: [name== >|.|< x]: "
                                    "expected value or quoted: invalid argument");
}

TEST(FiltersTest, ScannerErrors) {
  EXPECT_THAT(ParseError(absl::string_view("foo\0bar", 7)), HasSubstr("unexpected null"));
  EXPECT_THAT(ParseError("name==\xff"), HasSubstr("rune error"));
  EXPECT_EQ(ParseError("labels.\"containerd.io\nkey\"==value"),
            "filters: parse error: [labels. >|\"|< containerd.io\nkey\"==value]: "
            "quoted literal not terminated: invalid argument");
  EXPECT_EQ(ParseError(R"(labels."\g")"), R"(filters: parse error: [labels. >|"|< \g"]: )"
                                          "illegal escape sequence: invalid argument");
  EXPECT_EQ(ParseError(R"(labels."\xaz")"), R"(filters: parse error: [labels. >|"|< \xaz"]: )"
                                            "illegal numeric escape sequence: invalid argument");
  // Scanned fine, rejected by unquoting: out of range.
  EXPECT_THAT(ParseError(R"(labels."\U00110000")"),
              HasSubstr(">|\"|< \\U00110000\"]: unquoting failed: quote syntax error"));
  EXPECT_THAT(ParseError(R"(labels."\400")"), HasSubstr("unquoting failed"));
  // \/ is only an escape inside /.../.
  EXPECT_THAT(ParseError(R"(labels."a\/b")"), HasSubstr("illegal escape sequence"));
}

TEST(FiltersTest, InvalidRegexpIsAParseError) {
  EXPECT_EQ(ParseError("name~=[abc"),
            "filters: parse error: [name~= >|[|< abc]: invalid regular expression: "
            "missing ]: [abc: invalid argument");
}

TEST(FiltersTest, QuotedEscapesAndUnicode) {
  const std::map<std::string, std::string> labels = {
      {"a\tb", "1"}, {"A\xc3\xa9" "A", "2"}, {"\xe7\x89\x9b", "moo"}, {"x.y", "dots"},
      {"\xf0\x9f\x98\x80\"", "smile"}};
  auto match = [&](absl::string_view expression) {
    absl::StatusOr<Filter> filter = Parse(expression);
    EXPECT_TRUE(filter.ok()) << filter.status();
    return filter.ok() && filter->Match(FieldAdaptor().AddMap("labels", labels));
  };
  EXPECT_TRUE(match(R"(labels."a\tb"==1)"));
  EXPECT_TRUE(match(R"(labels."\x41\u00e9\101"==2)"));
  EXPECT_TRUE(match(R"(labels."\U0000725b"==moo)"));
  EXPECT_TRUE(match(R"(labels."\U0001F600\""==smile)"));  // 4-byte UTF-8
  // A field is [A-Za-z0-9_]+ unless quoted (the error points at a byte, as containerd's does).
  EXPECT_EQ(ParseError("labels.\xe7\x89\x9b==moo"),
            "filters: parse error: [labels. >|\xe7|< \x89\x9b==moo]: expected field or quoted: "
            "invalid argument");
  EXPECT_TRUE(match("labels.\"\xe7\x89\x9b\"~=|^m|"));
  EXPECT_TRUE(match("labels.\"\xe7\x89\x9b\"~=\xe7\x89\x9b") == false);
  EXPECT_TRUE(match(R"(labels."x.y"==dots)"));
  EXPECT_TRUE(match("labels.x.y==dots"));  // components are joined with "."
  EXPECT_TRUE(match("labels.x.y~=o.s"));
}

TEST(FiltersTest, UnquotedValuesKeepPunctuation) {
  const std::map<std::string, std::string> labels = {
      {"containerd.io/uncompressed", "sha256:ab.c"}, {"eq", "a=b/c|d\"e"}};
  auto match = [&](absl::string_view expression) {
    absl::StatusOr<Filter> filter = Parse(expression);
    EXPECT_TRUE(filter.ok()) << filter.status();
    return filter.ok() && filter->Match(FieldAdaptor().AddMap("labels", labels));
  };
  EXPECT_TRUE(match(R"(labels."containerd.io/uncompressed"==sha256:ab.c)"));
  EXPECT_TRUE(match(R"(labels.eq==a=b/c|d"e)"));
}

TEST(FiltersTest, ParseAnyOrsTheStrings) {
  auto select = [](const absl::StatusOr<Filter>& filter) {
    EXPECT_TRUE(filter.ok()) << filter.status();
    std::vector<int> selected;
    for (size_t i = 0; filter.ok() && i < Corpus().size(); ++i) {
      const Entry& e = Corpus()[i];
      if (filter->Match(AdaptFields({{"name", e.name}, {"other", e.other}}, e.labels))) {
        selected.push_back(static_cast<int>(i));
      }
    }
    return selected;
  };
  EXPECT_THAT(select(ParseAny(std::vector<std::string>{})), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8));
  EXPECT_TRUE(ParseAny(std::vector<std::string>{})->MatchesAll());
  EXPECT_THAT(select(ParseAny({""})), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8));
  EXPECT_THAT(select(ParseAny({"name==foo"})), ElementsAre(0, 2));
  EXPECT_THAT(select(ParseAny({"name==foo", "name==bar"})), ElementsAre(0, 1, 2, 3));
  EXPECT_THAT(select(ParseAny({"name==foo,labels.foo==true", "other"})), ElementsAre(0, 6, 7));
  EXPECT_THAT(select(ParseAny({"name==nothing", ""})), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8));
  EXPECT_TRUE(ParseAny({"name==nothing", ""})->MatchesAll());
  EXPECT_FALSE(ParseAny({"name==foo", "name==bar"})->MatchesAll());

  const std::vector<std::string> strings = {"labels.bar", "name~=^fooer$"};
  EXPECT_THAT(select(ParseAny(strings)), ElementsAre(3, 4, 5));

  absl::StatusOr<Filter> bad = ParseAny({"name==foo", "name=", "name==bar"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "filters: parse error: [name >|=|< ]: unsupported operator \"=\": invalid argument");
}

TEST(FiltersTest, FilterIsCopyableAndOutlivesItsSource) {
  Filter copy;
  {
    absl::StatusOr<Filter> filter = Parse("id~=^c[0-9]+$");
    ASSERT_TRUE(filter.ok());
    copy = *filter;
  }
  EXPECT_TRUE(copy.Match(AdaptFields({{"id", "c42"}})));
  EXPECT_FALSE(copy.Match(AdaptFields({{"id", "x42"}})));
}

TEST(FieldAdaptorTest, PresenceRules) {
  FieldAdaptor a;
  a.Add("id", "").AddAlways("parent", "").Add("image", "img");
  EXPECT_EQ(a({"id"}), std::nullopt);
  EXPECT_EQ(a({"parent"}), "");
  EXPECT_EQ(a({"image"}), "img");
  EXPECT_EQ(a({"image", "extra"}), "img");  // containerd ignores trailing components
  EXPECT_EQ(a({"nope"}), std::nullopt);
  EXPECT_EQ(a({}), std::nullopt);

  EXPECT_FALSE(Parse("id")->Match(a));
  EXPECT_TRUE(Parse("parent")->Match(a));
  EXPECT_TRUE(Parse("parent==\"\"")->Match(a));
  EXPECT_TRUE(Parse("id!=x")->Match(a));
}

TEST(FieldAdaptorTest, NestedPathsAndMaps) {
  std::unordered_map<std::string, std::string> labels = {{"a.b", "1"}, {"c", ""}};
  std::map<std::string, std::string> event_labels = {{"k", "v"}};
  FieldAdaptor a;
  a.Add("target.digest", "sha256:1").Add("event.container_id", "c1")
      .AddMap("labels", labels).AddMap("event.labels", event_labels);
  EXPECT_EQ(a({"target"}), std::nullopt);
  EXPECT_EQ(a({"target", "digest"}), "sha256:1");
  EXPECT_EQ(a({"target.digest"}), std::nullopt);  // one quoted component is not two
  EXPECT_EQ(a({"labels", "a", "b"}), "1");
  EXPECT_EQ(a({"labels", "a.b"}), "1");
  EXPECT_EQ(a({"labels", "c"}), "");  // a present, empty label
  EXPECT_EQ(a({"labels", "x"}), std::nullopt);
  EXPECT_EQ(a({"labels"}), std::nullopt);
  EXPECT_EQ(a({"event", "labels", "k"}), "v");
  EXPECT_EQ(a({"event", "container_id"}), "c1");

  EXPECT_TRUE(Parse("labels.c,target.digest~=^sha256:")->Match(a));
  EXPECT_TRUE(Parse(R"(labels."a.b"==1,event.labels.k==v)")->Match(a));
  EXPECT_FALSE(Parse("labels.c==x")->Match(a));
}

}  // namespace
}  // namespace berth::filters
