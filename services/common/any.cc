#include "services/common/any.h"

#include <time.h>

#include "absl/strings/str_cat.h"

namespace berth::services {

google::protobuf::Any PackAny(const google::protobuf::Message& message) {
  google::protobuf::Any any;
  any.set_type_url(message.GetDescriptor()->full_name());
  message.SerializeToString(any.mutable_value());
  return any;
}

absl::string_view AnyTypeName(absl::string_view type_url) {
  size_t slash = type_url.rfind('/');
  return slash == absl::string_view::npos ? type_url : type_url.substr(slash + 1);
}

absl::Status UnpackAny(const google::protobuf::Any& any, google::protobuf::Message& message) {
  const std::string& want = message.GetDescriptor()->full_name();
  if (AnyTypeName(any.type_url()) != want) {
    return absl::InvalidArgumentError(absl::StrCat("expected ", want, ", got ", any.type_url(),
                                                   ": invalid argument"));
  }
  if (!message.ParseFromString(any.value())) {
    return absl::InvalidArgumentError(absl::StrCat("malformed ", want, ": invalid argument"));
  }
  return absl::OkStatus();
}

google::protobuf::Timestamp Now() {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  google::protobuf::Timestamp stamp;
  stamp.set_seconds(now.tv_sec);
  stamp.set_nanos(static_cast<int32_t>(now.tv_nsec));
  return stamp;
}

}  // namespace berth::services
