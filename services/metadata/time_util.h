#pragma once

// Conversions between absl::Time and google.protobuf.Timestamp, and RFC 3339 parsing for
// containerd's gc.expire label.

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace berth::metadata {

inline google::protobuf::Timestamp ToTimestamp(absl::Time time) {
  google::protobuf::Timestamp stamp;
  if (time == absl::InfinitePast() || time == absl::UnixEpoch()) return stamp;
  int64_t nanos = absl::ToUnixNanos(time);
  stamp.set_seconds(nanos / 1000000000);
  stamp.set_nanos(static_cast<int32_t>(nanos % 1000000000));
  return stamp;
}

inline absl::Time FromTimestamp(const google::protobuf::Timestamp& stamp) {
  return absl::FromUnixSeconds(stamp.seconds()) + absl::Nanoseconds(stamp.nanos());
}

// RFC 3339 ("2006-01-02T15:04:05Z07:00", fractional seconds allowed); false if malformed.
inline bool ParseRfc3339(absl::string_view text, absl::Time* out) {
  std::string error;
  return absl::ParseTime(absl::RFC3339_full, text, out, &error);
}

}  // namespace berth::metadata
