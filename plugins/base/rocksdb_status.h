#pragma once

// The one translator from rocksdb::Status to absl::Status:
// NotFound -> kNotFound; Busy/TryAgain/TimedOut -> kAborted (retry); Corruption -> kDataLoss;
// IOError -> kUnavailable; InvalidArgument -> kInvalidArgument; others -> kInternal.

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "rocksdb/status.h"

namespace berth {

absl::Status FromRocksDb(const rocksdb::Status& status, absl::string_view context = {});

}  // namespace berth
