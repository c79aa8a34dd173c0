#include "plugins/base/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "plugins/base/utc_time.h"

namespace berth::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::string& ProgramName() {
  static auto* name = new std::string();
  return *name;
}

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "?";
}

}  // namespace

void SetLevel(Level level) { g_level.store(level); }
Level GetLevel() { return g_level.load(); }
void SetProgramName(absl::string_view name) { ProgramName() = std::string(name); }

absl::StatusOr<Level> ParseLevel(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  if (lower == "debug" || lower == "trace") return Level::kDebug;
  if (lower == "info") return Level::kInfo;
  if (lower == "warn" || lower == "warning") return Level::kWarn;
  if (lower == "error" || lower == "fatal" || lower == "panic") return Level::kError;
  return absl::InvalidArgumentError(absl::StrCat("unknown log level `", name, "`"));
}

LogLine::LogLine(Level level, const char* file, int line) : level_(level) {
  stream_ << NowUtc(3) << ' ' << LevelName(level_) << ' ';
  if (!ProgramName().empty()) {
    stream_ << ProgramName() << ": ";
  }
}

LogLine::~LogLine() {
  stream_ << '\n';
  std::string text = stream_.str();
  ssize_t ignored = ::write(STDERR_FILENO, text.data(), text.size());
  (void)ignored;
}

}  // namespace berth::log
