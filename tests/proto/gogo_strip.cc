#include "tests/proto/gogo_strip.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace berth::proto_test {
namespace {

bool IsGoGoOptionName(absl::string_view option) {
  option = absl::StripLeadingAsciiWhitespace(option);
  return absl::StartsWith(option, "(gogoproto.") || absl::StartsWith(option, "(containerd.plugin.");
}

// Whole-line statements that only exist for gogo/fieldpath.
bool IsGoGoStatement(absl::string_view line) {
  line = absl::StripLeadingAsciiWhitespace(line);
  if (absl::StartsWith(line, "import weak ")) {
    return absl::StrContains(line, "gogoproto/gogo.proto") ||
           absl::StrContains(line, "protobuf/plugin/fieldpath.proto");
  }
  if (absl::StartsWith(line, "option ")) {
    return IsGoGoOptionName(line.substr(6));
  }
  return false;
}

// Index just past the string literal that starts at `pos` (a quote character).
size_t SkipString(absl::string_view text, size_t pos) {
  const char quote = text[pos];
  for (size_t i = pos + 1; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == quote) {
      return i + 1;
    }
  }
  return text.size();
}

// Splits the inside of `[...]` at commas that are outside string literals.
std::vector<std::string> SplitOptions(absl::string_view inside) {
  std::vector<std::string> options;
  size_t start = 0;
  for (size_t i = 0; i < inside.size();) {
    if (inside[i] == '"' || inside[i] == '\'') {
      i = SkipString(inside, i);
    } else if (inside[i] == ',') {
      options.emplace_back(inside.substr(start, i - start));
      start = ++i;
    } else {
      ++i;
    }
  }
  options.emplace_back(inside.substr(start));
  return options;
}

// Rewrites the bracket `[inside]`; returns "" when only gogo options were in it.
std::string RewriteBracket(absl::string_view inside) {
  std::vector<std::string> kept;
  for (std::string& option : SplitOptions(inside)) {
    if (!IsGoGoOptionName(option)) {
      kept.push_back(std::string(absl::StripAsciiWhitespace(option)));
    }
  }
  return kept.empty() ? "" : absl::StrCat(" [", absl::StrJoin(kept, ", "), "]");
}

// If a comment or a string literal starts at `pos`, the index just past it; otherwise `pos`.
size_t SkipCommentOrString(absl::string_view text, size_t pos) {
  absl::string_view rest = text.substr(pos);
  if (absl::StartsWith(rest, "//")) {
    size_t end = text.find('\n', pos);
    return end == absl::string_view::npos ? text.size() : end;
  }
  if (absl::StartsWith(rest, "/*")) {
    size_t end = text.find("*/", pos + 2);
    return end == absl::string_view::npos ? text.size() : end + 2;
  }
  if (text[pos] == '"' || text[pos] == '\'') {
    return SkipString(text, pos);
  }
  return pos;
}

// Index of the `]` closing the bracket that opens at `open`.
size_t FindBracketEnd(absl::string_view text, size_t open) {
  size_t i = open + 1;
  while (i < text.size() && text[i] != ']') {
    i = (text[i] == '"' || text[i] == '\'') ? SkipString(text, i) : i + 1;
  }
  return i;
}

// Removes gogo entries from every `[...]` outside comments and string literals.
std::string StripBracketOptions(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (size_t skipped = SkipCommentOrString(text, i); skipped != i) {
      absl::StrAppend(&out, text.substr(i, skipped - i));
      i = skipped;
    } else if (text[i] != '[') {
      out.push_back(text[i++]);
    } else {
      size_t end = FindBracketEnd(text, i);
      while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) {
        out.pop_back();
      }
      absl::StrAppend(&out, RewriteBracket(text.substr(i + 1, end - i - 1)));
      i = end + 1;
    }
  }
  return out;
}

}  // namespace

std::string StripGoGo(absl::string_view proto_text) {
  std::vector<absl::string_view> kept;
  for (absl::string_view line : absl::StrSplit(proto_text, '\n')) {
    if (!IsGoGoStatement(line)) {
      kept.push_back(line);
    }
  }
  return StripBracketOptions(absl::StrJoin(kept, "\n"));
}

}  // namespace berth::proto_test
