// FormatUtc against glibc's gmtime_r + strftime over dates that stress the calendar arithmetic.

#include "plugins/base/utc_time.h"

#include <time.h>

#include <string>

#include "gtest/gtest.h"

namespace berth {
namespace {

std::string GlibcUtc(time_t seconds) {
  tm t;
  gmtime_r(&seconds, &t);
  char text[64];
  strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &t);
  return text;
}

TEST(UtcTimeTest, MatchesGmtimeAcrossTheCalendar) {
  const time_t samples[] = {0,           59,          86399,       86400,
                            951782400,   951868799,   951868800,   4107542400,
                            4107628800,  1700000000,  2147483647,  2147483648,
                            -1,          -86400,      -86401,      -2208988800,
                            253402300799};
  for (time_t seconds : samples) {
    EXPECT_EQ(FormatUtc({seconds, 0}, 0), GlibcUtc(seconds) + "Z") << seconds;
  }
  // Every day over eight years (two leap years, one leap day each) at an odd second of day.
  for (time_t day = 10950; day < 10950 + 8 * 366; ++day) {
    time_t seconds = day * 86400 + 45296;
    ASSERT_EQ(FormatUtc({seconds, 0}, 0), GlibcUtc(seconds) + "Z") << seconds;
  }
}

TEST(UtcTimeTest, FractionHasTheAskedWidth) {
  timespec ts{1700000000, 123456789};
  EXPECT_EQ(FormatUtc(ts, 9), "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(FormatUtc(ts, 3), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(FormatUtc({1700000000, 5000000}, 3), "2023-11-14T22:13:20.005Z");
  EXPECT_EQ(FormatUtc(ts, 0), "2023-11-14T22:13:20Z");
}

}  // namespace
}  // namespace berth
