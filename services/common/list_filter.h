#pragma once

// Turns the `filters` field of a List request into a predicate on one kind of record, with the
// parse error as containerd reports it (InvalidArgument).

#include <functional>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "plugins/base/filters.h"
#include "plugins/base/status_util.h"

namespace berth::services {

// `adapt(record)` returns the filters::FieldAdaptor describing one record.
template <typename Record, typename Strings, typename Adapt>
absl::StatusOr<std::function<bool(const Record&)>> MakeListFilter(const Strings& expressions,
                                                                  Adapt adapt) {
  absl::StatusOr<filters::Filter> filter = filters::ParseAny(expressions);
  if (!filter.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("failed to parse filters: ", filter.status().message()));
  }
  if (filter->MatchesAll()) return [](const Record&) { return true; };
  return [filter = *std::move(filter), adapt](const Record& record) {
    auto adaptor = adapt(record);
    return filter.Match(adaptor);
  };
}

}  // namespace berth::services
