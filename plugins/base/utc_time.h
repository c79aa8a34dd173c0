#pragma once

// UTC timestamps without glibc's time zone machinery: gmtime_r's first call reads TZ and
// /etc/localtime (~0.2 ms), which a shim would pay on every container's create path.

#include <time.h>

#include <string>

namespace berth {

// "2006-01-02T15:04:05" followed by `frac_digits` (0..9) fractional digits and "Z", as Go's
// RFC3339Nano does with a fixed width (runc's state files, log lines).
std::string FormatUtc(const timespec& ts, int frac_digits);

// FormatUtc of CLOCK_REALTIME now.
std::string NowUtc(int frac_digits);

}  // namespace berth
