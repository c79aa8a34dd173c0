#include "plugins/base/utc_time.h"

#include <cstdio>

namespace berth {
namespace {

struct CivilDate {
  long long year;
  unsigned month, day;
};

// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's civil_from_days).
CivilDate CivilFromDays(long long days) {
  days += 719468;
  const long long era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned month_index = (5 * day_of_year + 2) / 153;  // March = 0
  const unsigned day = day_of_year - (153 * month_index + 2) / 5 + 1;
  const unsigned month = month_index < 10 ? month_index + 3 : month_index - 9;
  return {static_cast<long long>(year_of_era) + era * 400 + (month <= 2), month, day};
}

}  // namespace

std::string FormatUtc(const timespec& ts, int frac_digits) {
  long long seconds = ts.tv_sec;
  long long days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
  long long second_of_day = seconds - days * 86400;
  CivilDate date = CivilFromDays(days);
  char text[64];
  int n = snprintf(text, sizeof(text), "%04lld-%02u-%02uT%02lld:%02lld:%02lld", date.year,
                   date.month, date.day, second_of_day / 3600, second_of_day / 60 % 60,
                   second_of_day % 60);
  if (frac_digits > 0) {
    if (frac_digits > 9) frac_digits = 9;
    long divisor = 1;
    for (int i = frac_digits; i < 9; ++i) divisor *= 10;
    n += snprintf(text + n, sizeof(text) - n, ".%0*ld", frac_digits, ts.tv_nsec / divisor);
  }
  snprintf(text + n, sizeof(text) - n, "Z");
  return text;
}

std::string NowUtc(int frac_digits) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return FormatUtc(ts, frac_digits);
}

}  // namespace berth
