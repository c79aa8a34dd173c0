#include "plugins/base/filters.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "plugins/base/status_util.h"
#include "re2/re2.h"

namespace berth::filters {
namespace {

// Token kinds are negative so that any other token is the rune itself (as in containerd).
enum : int32_t {
  kEof = -1, kQuoted = -2, kValue = -3, kField = -4, kSeparator = -5, kOperator = -6, kIllegal = -7
};
constexpr int32_t kRuneError = 0xFFFD;
constexpr size_t npos = absl::string_view::npos;

// Decodes one UTF-8 rune at the start of `s` like Go's utf8.DecodeRuneInString: (kRuneError, 1)
// for an invalid sequence, (kRuneError, 0) for empty input.
std::pair<int32_t, int> DecodeRune(absl::string_view s) {
  if (s.empty()) return {kRuneError, 0};
  const auto b0 = static_cast<uint8_t>(s[0]);
  if (b0 < 0x80) return {b0, 1};
  const int len = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : 2;
  int32_t r = b0 & (0x7F >> len);
  if (b0 < 0xC2 || b0 > 0xF4 || s.size() < static_cast<size_t>(len)) return {kRuneError, 1};
  for (int i = 1; i < len; ++i) {
    const auto b = static_cast<uint8_t>(s[i]);
    if ((b & 0xC0) != 0x80) return {kRuneError, 1};
    r = (r << 6) | (b & 0x3F);
  }
  const int32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
  if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) return {kRuneError, 1};
  return {r, len};
}

// Go's utf8.EncodeRune: surrogates and out-of-range runes become U+FFFD.
void AppendRune(std::string* out, int32_t r) {
  if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) r = kRuneError;
  if (r < 0x80) {
    out->push_back(static_cast<char>(r));
    return;
  }
  const int len = r < 0x800 ? 2 : r < 0x10000 ? 3 : 4;
  out->push_back(static_cast<char>((0xF00 >> len) | (r >> (6 * (len - 1)))));
  for (int i = len - 2; i >= 0; --i) {
    out->push_back(static_cast<char>(0x80 | ((r >> 6 * i) & 0x3F)));
  }
}

// Go's unicode.IsSpace.
bool IsSpace(int32_t r) {
  return (r >= '\t' && r <= '\r') || r == ' ' || r == 0x85 || r == 0xA0 || r == 0x1680 ||
         (r >= 0x2000 && r <= 0x200A) || r == 0x2028 || r == 0x2029 || r == 0x202F ||
         r == 0x205F || r == 0x3000;
}
bool IsFieldRune(int32_t r) {
  return r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9');
}
bool IsOperatorRune(int32_t r) { return r == '=' || r == '!' || r == '~'; }
bool IsQuoteRune(int32_t r) { return r == '/' || r == '|' || r == '"'; }
bool IsSeparatorRune(int32_t r) { return r == ',' || r == '.'; }
// Printable and not "," or white space (non-ASCII: everything but C1 controls).
bool IsValueRune(int32_t r) {
  if (r == ',' || r < 0 || IsSpace(r)) return false;
  if (r < 0x80) return r > 0x20 && r < 0x7F;
  return r > 0x9F;
}
int DigitVal(int32_t r) {
  if (r >= '0' && r <= '9') return r - '0';
  if (r >= 'a' && r <= 'f') return r - 'a' + 10;
  if (r >= 'A' && r <= 'F') return r - 'A' + 10;
  return 16;
}

struct Token {
  int pos;  // byte offset of the token's first rune
  int32_t kind;
  absl::string_view text;
};

// Splits the input into tokens. After an operator the scanner is in "value" mode: the next run
// of value runes is one kValue token even if it holds dots or slashes.
class Scanner {
 public:
  explicit Scanner(absl::string_view input) : input_(input) {}

  const std::string& error() const { return err_; }
  int ppos() const { return ppos_; }

  int32_t Peek() {
    const int pos = pos_, ppos = ppos_;
    const int32_t r = Next();
    pos_ = pos, ppos_ = ppos;
    return r;
  }

  Token Scan() {
    int32_t r = Next();
    int start = pos_;
    while (IsSpace(r)) {
      r = Next();
      start = pos_;
    }
    if (r == kEof || r == kIllegal) return {pos_, r, {}};
    if (IsQuoteRune(r)) {
      const bool ok = ScanQuoted(r);
      return {start, ok ? kQuoted : kIllegal, Text(start)};
    }
    if (IsSeparatorRune(r)) {
      value_ = false;
      return {start, kSeparator, Text(start)};
    }
    if (IsOperatorRune(r)) {
      while (IsOperatorRune(Peek())) Next();
      value_ = true;
      return {start, kOperator, Text(start)};
    }
    if (value_) {
      while (IsValueRune(Peek())) Next();
      value_ = false;
      return {start, kValue, Text(start)};
    }
    if (IsFieldRune(r)) {
      while (IsFieldRune(Peek())) Next();
      return {start, kField, Text(start)};
    }
    return {pos_, r, {}};
  }

 private:
  int32_t Next() {
    if (pos_ >= static_cast<int>(input_.size())) return kEof;
    pos_ = ppos_;
    const auto [r, width] = DecodeRune(input_.substr(ppos_));
    ppos_ += width;
    if (r == kRuneError) {
      if (width == 0) return kEof;
      Error("rune error");
      return kIllegal;
    }
    if (r == 0) {
      Error("unexpected null");
      return kIllegal;
    }
    return r;
  }

  absl::string_view Text(int start) const { return input_.substr(start, ppos_ - start); }

  // Called after the opening quote; consumes through the closing one.
  bool ScanQuoted(int32_t quote) {
    bool legal = true;
    int32_t r = Next();
    while (r != quote) {
      if (r == '\n' || r < 0) {
        Error("quoted literal not terminated");
        return false;
      }
      r = r == '\\' ? ScanEscape(quote, &legal) : Next();
    }
    return legal;
  }

  // Called after a backslash; returns the rune following the escape.
  int32_t ScanEscape(int32_t quote, bool* legal) {
    int32_t r = Next();
    const bool simple =
        r > 0 && r < 0x80 && absl::string_view("abfnrtv\\").find(static_cast<char>(r)) != npos;
    if (r == quote || simple) return Next();
    if (r >= '0' && r <= '7') return ScanDigits(r, 8, 3, legal);
    if (r == 'x' || r == 'u' || r == 'U') {
      return ScanDigits(Next(), 16, r == 'x' ? 2 : r == 'u' ? 4 : 8, legal);
    }
    Error("illegal escape sequence");
    *legal = false;
    return r;
  }

  int32_t ScanDigits(int32_t r, int base, int n, bool* legal) {
    for (; n > 0 && DigitVal(r) < base; --n) r = Next();
    if (n > 0) {
      Error("illegal numeric escape sequence");
      *legal = false;
    }
    return r;
  }

  void Error(absl::string_view message) {
    if (err_.empty()) err_ = std::string(message);
  }

  absl::string_view input_;
  int pos_ = 0;   // start of the current rune
  int ppos_ = 0;  // end of the current rune
  bool value_ = false;
  std::string err_;  // first error seen
};

// Decodes a quoted token (delimiters included) like containerd's quote.go unquote.
std::optional<std::string> Unquote(absl::string_view s) {
  if (s.size() < 2 || s.front() != s.back()) return std::nullopt;
  const char quote = s.front();
  s = s.substr(1, s.size() - 2);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == quote || c == '\n') return std::nullopt;
    if (c != '\\') {
      out.push_back(c);  // multi-byte runes are copied byte by byte; the scanner validated them
      ++i;
      continue;
    }
    if (i + 1 >= s.size()) return std::nullopt;
    const char e = s[i + 1];
    i += 2;
    static constexpr absl::string_view kSimple = "a\ab\bf\fn\nr\rt\tv\v\\\\";
    if (const size_t k = kSimple.find(e); k != npos && k % 2 == 0) {
      out.push_back(kSimple[k + 1]);
    } else if (e == '"' || e == '\'' || e == '|' || e == '/') {
      if (e != quote) return std::nullopt;
      out.push_back(e);
    } else if (e == 'x' || e == 'u' || e == 'U' || (e >= '0' && e <= '7')) {
      // \xhh is one raw byte (possibly not UTF-8); \uhhhh and \Uhhhhhhhh are UTF-8 encoded;
      // \ooo is one byte (at most \377).
      const bool octal = e <= '7';
      const size_t n = octal ? 2 : e == 'x' ? 2 : e == 'u' ? 4 : 8;
      if (s.size() - i < n) return std::nullopt;
      int64_t v = octal ? e - '0' : 0;
      for (size_t j = 0; j < n; ++j) {
        const int d = DigitVal(static_cast<uint8_t>(s[i + j]));
        if (d >= (octal ? 8 : 16)) return std::nullopt;
        v = (v << (octal ? 3 : 4)) | d;
      }
      i += n;
      if (octal || e == 'x') {
        if (v > 255) return std::nullopt;
        out.push_back(static_cast<char>(v));
      } else {
        if (v > 0x10FFFF) return std::nullopt;
        AppendRune(&out, static_cast<int32_t>(v));
      }
    } else {
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace

// Recursive descent over the Scanner's tokens; mirrors containerd's parser.go.
class Parser {
 public:
  explicit Parser(absl::string_view input) : input_(input), scanner_(input) {}

  absl::StatusOr<std::vector<Filter::Selector>> Selectors() {
    std::vector<Filter::Selector> all;
    while (true) {
      absl::StatusOr<Filter::Selector> selector = ParseSelector();
      if (!selector.ok()) return selector.status();
      all.push_back(*std::move(selector));
      const int32_t next = scanner_.Peek();
      if (next == kEof) return all;
      if (next != ',') {
        std::string rune;
        AppendRune(&rune, next < 0 ? kRuneError : next);
        return Error(scanner_.ppos(), absl::StrCat("unexpected input: ", rune));
      }
      scanner_.Scan();  // the ","
    }
  }

 private:
  absl::StatusOr<Filter::Selector> ParseSelector() {
    Filter::Selector selector;
    // fieldpath := field ("." field)*
    while (true) {
      absl::StatusOr<std::string> field = Field();
      if (!field.ok()) return field.status();
      selector.fieldpath.push_back(*std::move(field));
      if (scanner_.Peek() != '.') break;
      scanner_.Scan();  // the "."
    }
    const int32_t next = scanner_.Peek();
    if (next == ',' || next == kEof) return selector;  // presence

    const Token op = scanner_.Scan();
    if (op.kind == kIllegal) return Error(op.pos, scanner_.error());
    if (op.kind != kOperator) return Error(op.pos, R"(expected an operator ("=="|"!="|"~="))");
    if (op.text != "==" && op.text != "!=" && op.text != "~=") {
      return Error(op.pos, absl::StrCat("unsupported operator \"", op.text, "\""));
    }
    selector.op = op.text[0] == '=' ? Filter::Op::kEqual
                  : op.text[0] == '!' ? Filter::Op::kNotEqual : Filter::Op::kMatches;

    const Token value = scanner_.Scan();
    if (value.kind == kValue || value.kind == kField) {
      selector.value = std::string(value.text);
    } else if (value.kind == kQuoted) {
      absl::StatusOr<std::string> unquoted =
          Unquoted(value, /*allow_alt_quotes=*/selector.op == Filter::Op::kMatches);
      if (!unquoted.ok()) return unquoted.status();
      selector.value = *std::move(unquoted);
    } else if (value.kind == kIllegal) {
      return Error(value.pos, scanner_.error());
    } else {
      return Error(value.pos, "expected value or quoted");
    }

    if (selector.op == Filter::Op::kMatches) {
      RE2::Options options;
      options.set_log_errors(false);
      auto re = std::make_shared<const RE2>(selector.value, options);
      if (!re->ok()) {
        return Error(value.pos, absl::StrCat("invalid regular expression: ", re->error()));
      }
      selector.re = std::move(re);
    }
    return selector;
  }

  absl::StatusOr<std::string> Field() {
    const Token token = scanner_.Scan();
    if (token.kind == kField) return std::string(token.text);
    if (token.kind == kQuoted) return Unquoted(token, /*allow_alt_quotes=*/false);
    if (token.kind == kIllegal) return Error(token.pos, scanner_.error());
    return Error(token.pos, "expected field or quoted");
  }

  absl::StatusOr<std::string> Unquoted(const Token& token, bool allow_alt_quotes) {
    if (!allow_alt_quotes && token.text.front() != '"') {
      return Error(token.pos, "invalid quote encountered");
    }
    std::optional<std::string> unquoted = Unquote(token.text);
    if (!unquoted) return Error(token.pos, "unquoting failed: quote syntax error");
    return *std::move(unquoted);
  }

  // "filters: parse error: [<before> >|<byte at pos>|< <after>]: <message>: invalid argument"
  absl::Status Error(int pos, absl::string_view message) const {
    const std::string where =
        pos >= 0 && static_cast<size_t>(pos) < input_.size()
            ? absl::StrCat("[", input_.substr(0, pos), " >|", input_.substr(pos, 1), "|< ",
                           input_.substr(pos + 1), "]")
            : absl::StrCat("[", input_, "]");
    return InvalidArgument(absl::StrCat("filters: parse error: ", where, ": ", message));
  }

  absl::string_view input_;
  Scanner scanner_;
};

Filter::Filter() : any_(1) {}

bool Filter::MatchesAll() const {
  return std::any_of(any_.begin(), any_.end(), [](const auto& all) { return all.empty(); });
}

bool Filter::Match(Adaptor adaptor) const {
  return std::any_of(any_.begin(), any_.end(), [adaptor](const std::vector<Selector>& all) {
    return std::all_of(all.begin(), all.end(), [adaptor](const Selector& s) {
      return s.Match(adaptor);
    });
  });
}

bool Filter::Selector::Match(Adaptor adaptor) const {
  const std::optional<std::string> found = adaptor(fieldpath);
  switch (op) {
    case Op::kPresent:
      return found.has_value();
    case Op::kEqual:
      return found.has_value() && *found == value;
    case Op::kNotEqual:
      return found.value_or("") != value;
    case Op::kMatches:
      return RE2::PartialMatch(found.value_or(""), *re);
  }
  return false;
}

absl::StatusOr<Filter> Parse(absl::string_view expression) {
  return ParseAnyOf(absl::Span<const absl::string_view>(&expression, 1));
}

absl::StatusOr<Filter> ParseAnyOf(absl::Span<const absl::string_view> expressions) {
  Filter filter;  // one empty AND: matches everything
  if (expressions.empty()) return filter;
  filter.any_.clear();
  for (absl::string_view expression : expressions) {
    if (expression.empty()) {
      filter.any_.emplace_back();
      continue;
    }
    absl::StatusOr<std::vector<Filter::Selector>> all = Parser(expression).Selectors();
    if (!all.ok()) return all.status();
    filter.any_.push_back(*std::move(all));
  }
  return filter;
}

namespace {

// containerd's adaptors switch on the leading components and ignore the rest.
bool IsPrefix(const std::vector<std::string>& prefix, const std::vector<std::string>& fieldpath) {
  return prefix.size() <= fieldpath.size() &&
         std::equal(prefix.begin(), prefix.end(), fieldpath.begin());
}

}  // namespace

FieldAdaptor& FieldAdaptor::Add(absl::string_view path, absl::string_view value) {
  fields_.push_back({absl::StrSplit(path, '.'), std::string(value), /*always_present=*/false});
  return *this;
}

FieldAdaptor& FieldAdaptor::AddAlways(absl::string_view path, absl::string_view value) {
  fields_.push_back({absl::StrSplit(path, '.'), std::string(value), /*always_present=*/true});
  return *this;
}

void FieldAdaptor::AddMapLookup(absl::string_view prefix, const void* map, LookupFn lookup) {
  maps_.push_back({absl::StrSplit(prefix, '.'), map, lookup});
}

std::optional<std::string> FieldAdaptor::operator()(
    const std::vector<std::string>& fieldpath) const {
  for (const FieldEntry& field : fields_) {
    if (!IsPrefix(field.path, fieldpath)) continue;
    if (!field.always_present && field.value.empty()) return std::nullopt;
    return field.value;
  }
  for (const MapEntry& map : maps_) {
    if (!IsPrefix(map.prefix, fieldpath)) continue;
    std::string value;
    const std::string key =
        absl::StrJoin(fieldpath.begin() + map.prefix.size(), fieldpath.end(), ".");
    if (!map.lookup(map.map, key, &value)) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

FieldAdaptor AdaptFields(FieldList fields) {
  FieldAdaptor adaptor;
  for (const auto& [path, value] : fields) adaptor.Add(path, value);
  return adaptor;
}

}  // namespace berth::filters
