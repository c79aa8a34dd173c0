#pragma once

// google.protobuf.Any the way containerd's Go clients write and read it: the type URL is the
// bare message name ("containerd.events.TaskExit"), never "type.googleapis.com/...", which the
// 1.6 clients reject. protobuf's PackFrom/UnpackTo insist on a '/', so use these instead.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"

namespace berth::services {

google::protobuf::Any PackAny(const google::protobuf::Message& message);

// The message name of a type URL: the text after the last '/', or the whole URL.
absl::string_view AnyTypeName(absl::string_view type_url);

// InvalidArgument if `any` does not hold a `message`'s type or does not parse.
absl::Status UnpackAny(const google::protobuf::Any& any, google::protobuf::Message& message);

google::protobuf::Timestamp Now();

}  // namespace berth::services
