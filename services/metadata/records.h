#pragma once

// Reading and writing whole protobuf records in a metadata transaction.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/map.h"
#include "google/protobuf/message_lite.h"
#include "services/metadata/db.h"

namespace berth::metadata {

inline absl::Status CorruptRecord(absl::string_view key) {
  std::string printable(key);
  for (char& c : printable) {
    if (c == '\0') c = '/';
  }
  return absl::DataLossError(absl::StrCat("metadata record `", printable, "` does not parse"));
}

// Reads `key` into `record`; false if absent, DataLoss if it does not parse.
inline absl::StatusOr<bool> ReadRecord(Txn& txn, absl::string_view key,
                                       google::protobuf::MessageLite& record) {
  absl::StatusOr<std::optional<std::string>> value = txn.Get(key);
  if (!value.ok()) return value.status();
  if (!value->has_value()) return false;
  if (!record.ParseFromString(**value)) return CorruptRecord(key);
  return true;
}

inline absl::Status WriteRecord(Txn& txn, absl::string_view key,
                                const google::protobuf::MessageLite& record) {
  return txn.Put(key, record.SerializeAsString());
}

// Labels with an empty value mean "remove this label", as in containerd.
inline void DropEmptyValues(google::protobuf::Map<std::string, std::string>& labels) {
  for (auto it = labels.begin(); it != labels.end();) {
    it = it->second.empty() ? labels.erase(it) : std::next(it);
  }
}

}  // namespace berth::metadata
