#pragma once

// Minimal leveled logging to stderr (Debian's Abseil 20220623 has no absl/log).
//
//   BERTH_LOG(INFO) << "serving on " << address;
//
// A line is written in one write(2) so lines from threads and processes do not interleave.
// Messages below the process-wide level are not formatted at all.

#include <sstream>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace berth::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLevel(Level level);
Level GetLevel();
// Parses "debug", "info", "warn"/"warning", "error".
absl::StatusOr<Level> ParseLevel(absl::string_view name);
// The tag printed before each line, e.g. "berthd" (default: none).
void SetProgramName(absl::string_view name);

class LogLine {
 public:
  LogLine(Level level, const char* file, int line);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  Level level_;
  std::ostringstream stream_;
};

// Turns the stream expression into void so BERTH_LOG can be one conditional expression (safe
// inside an unbraced if/else). operator& binds more loosely than operator<<.
struct Voidify {
  void operator&(std::ostream&) {}
};

inline constexpr Level DEBUG = Level::kDebug;
inline constexpr Level INFO = Level::kInfo;
inline constexpr Level WARN = Level::kWarn;
inline constexpr Level ERROR = Level::kError;

}  // namespace berth::log

#define BERTH_LOG(level)                                                    \
  (::berth::log::level < ::berth::log::GetLevel())                          \
      ? (void)0                                                             \
      : ::berth::log::Voidify() &                                           \
            ::berth::log::LogLine(::berth::log::level, __FILE__, __LINE__).stream()
