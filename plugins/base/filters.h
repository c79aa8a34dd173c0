#pragma once

// containerd's filter language (`ctr i ls name~=^docker`, `filters:` of every List RPC),
// implemented once for every service. Behaviour follows containerd 1.6's `filters` package.
//
// Grammar (one filter string):
//
//   selectors := selector ("," selector)*          all selectors must match (AND)
//   selector  := fieldpath [operator value]        no operator: the field must be present
//   fieldpath := field ("." field)*
//   field     := [A-Za-z0-9_]+ | quoted            only "..." quoting is accepted for fields
//   operator  := "==" | "!=" | "~="                "~=" is an RE2 (Go syntax) unanchored search
//   value     := quoted | <run of printable runes other than "," and white space>
//   quoted    := "..." | /.../ | |...|             /.../ and |...| only after "~="
//
// Quoted text uses Go string escapes: \a \b \f \n \r \t \v \\, the delimiter itself (\" \/ \|),
// octal \ooo, \xhh (a raw byte), \uhhhh and \Uhhhhhhhh (UTF-8). A quoted field may contain dots:
// `labels."io.cri/ns"==x`. Unquoted values may contain dots, slashes and "=":
// `labels.a==sha256:x.y`. Spaces are skipped before a field, an operator and a value, but not
// after a value (containerd rejects `a==b ,c`; so do we). There is no "|" (OR) operator inside a
// string: "|" only delimits a regular expression.
//
// Several filter strings (the repeated `filters` field of a request) are OR-ed: ParseAny. An
// empty string, or an empty list, matches everything (`ctr pull` sends `[""]`).
//
// Matching asks an Adaptor for the value at a fieldpath:
//   present  (no operator)  the adaptor returned a value;
//   a==v                    present and equal;
//   a!=v                    an absent field counts as "", so absent != "x" is true;
//   a~=re                   an absent field counts as "", so `a~=^$` matches an absent field.
//
// Differences from containerd: an invalid regular expression is a parse error here (containerd
// accepts it and then matches nothing), and non-ASCII "printable" is approximated (every non-ASCII
// rune except white space and C1 controls).
//
// Errors are InvalidArgument, worded like containerd's:
//   filters: parse error: [labels. >|?|< "x"==y]: expected field or quoted: invalid argument

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace berth::filters {

// A view of one object: the value at `fieldpath` (e.g. {"labels", "a.b"}), or nullopt if the
// object has no such field. FieldAdaptor below covers the usual cases.
using Adaptor =
    absl::FunctionRef<std::optional<std::string>(const std::vector<std::string>& fieldpath)>;

// A parsed filter: an OR of ANDs of selectors. Copyable (the compiled regexps are shared and
// immutable), thread-safe to Match from many threads. Default-constructed, it matches everything.
class Filter {
 public:
  Filter();

  bool Match(Adaptor adaptor) const;

  // True if Match is true for every object; lets a List skip building adaptors.
  bool MatchesAll() const;

 private:
  enum class Op { kPresent, kEqual, kNotEqual, kMatches };
  struct Selector {
    std::vector<std::string> fieldpath;
    Op op = Op::kPresent;
    std::string value;
    std::shared_ptr<const re2::RE2> re;  // for kMatches
    bool Match(Adaptor adaptor) const;
  };
  friend class Parser;
  friend absl::StatusOr<Filter> ParseAnyOf(absl::Span<const absl::string_view> expressions);

  std::vector<std::vector<Selector>> any_;  // OR over the outer vector, AND over the inner
};

// Parses one filter string. "" matches everything.
absl::StatusOr<Filter> Parse(absl::string_view expression);

// Parses each string and ORs them. No strings, or any "" string, matches everything. The first
// parse error is returned.
absl::StatusOr<Filter> ParseAnyOf(absl::Span<const absl::string_view> expressions);

// ParseAnyOf for any container of strings: std::vector<std::string>, a protobuf
// RepeatedPtrField<std::string> (request.filters()), ...
template <typename Container>
absl::StatusOr<Filter> ParseAny(const Container& expressions) {
  std::vector<absl::string_view> views;
  for (const auto& expression : expressions) {
    views.emplace_back(expression);
  }
  return ParseAnyOf(views);
}
inline absl::StatusOr<Filter> ParseAny(std::initializer_list<absl::string_view> expressions) {
  return ParseAnyOf(absl::Span<const absl::string_view>(expressions.begin(), expressions.size()));
}

// An Adaptor over named fields and string maps, following containerd's adaptors:
//   - Add(path, value): `path` is dotted ("id", "runtime.name", "target.digest",
//     "event.container_id"); the field is present only if `value` is non-empty, as in containerd
//     (container id/image, image name/target.*, lease id, event fields, plugin type/id).
//   - AddAlways(path, value): present even if empty (snapshot name/parent/kind, content digest,
//     ingest ref, task metrics id/namespace).
//   - AddMap(prefix, map): `<prefix>.<k1>.<k2>...` looks up the key "k1.k2" in `map`, so
//     `labels.a.b` and `labels."a.b"` both mean key "a.b" (containerd joins the components).
//     Any map type with find(std::string) whose mapped type converts to std::string works:
//     std::map, absl::flat_hash_map, google::protobuf::Map. The map is NOT copied.
// A fieldpath longer than a field's path still resolves to it (`id.x` is `id`), as in
// containerd. The first matching entry wins. Values are copied, so temporaries are fine.
//
//   if (filter.Match(FieldAdaptor().Add("id", c.id()).Add("image", c.image())
//                        .Add("runtime.name", c.runtime().name()).AddMap("labels", c.labels())))
//   // events: envelope fields plus the decoded event's fields under "event.":
//   FieldAdaptor a;
//   a.Add("topic", topic).Add("namespace", ns).Add("event.container_id", exit.container_id());
class FieldAdaptor {
 public:
  FieldAdaptor() = default;

  FieldAdaptor& Add(absl::string_view path, absl::string_view value);
  FieldAdaptor& AddAlways(absl::string_view path, absl::string_view value);
  template <typename Map>
  FieldAdaptor& AddMap(absl::string_view prefix, const Map& map) {
    AddMapLookup(prefix, &map, &LookupIn<Map>);
    return *this;
  }

  std::optional<std::string> operator()(const std::vector<std::string>& fieldpath) const;

 private:
  using LookupFn = bool (*)(const void* map, const std::string& key, std::string* value);
  struct FieldEntry {
    std::vector<std::string> path;  // components
    std::string value;
    bool always_present;
  };
  struct MapEntry {
    std::vector<std::string> prefix;
    const void* map;
    LookupFn lookup;
  };
  void AddMapLookup(absl::string_view prefix, const void* map, LookupFn lookup);
  template <typename Map>
  static bool LookupIn(const void* map, const std::string& key, std::string* value) {
    const Map& m = *static_cast<const Map*>(map);
    auto it = m.find(key);
    if (it == m.end()) {
      return false;
    }
    *value = std::string(it->second);
    return true;
  }

  std::vector<FieldEntry> fields_;
  std::vector<MapEntry> maps_;
};

// The common case in one call: non-empty-means-present fields plus `labels.*`.
//   filter.Match(AdaptFields({{"id", l.id()}}, l.labels()))
using FieldList = std::initializer_list<std::pair<absl::string_view, absl::string_view>>;
FieldAdaptor AdaptFields(FieldList fields);
template <typename Map>
FieldAdaptor AdaptFields(FieldList fields, const Map& labels) {
  FieldAdaptor adaptor = AdaptFields(fields);
  adaptor.AddMap("labels", labels);
  return adaptor;
}

}  // namespace berth::filters
