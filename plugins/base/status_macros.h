#pragma once

// Early-return helpers for absl::Status / absl::StatusOr, named after the macros that newer
// Abseil releases ship (absl/status/status_macros.h) so a later upgrade is a sed away.
//
//   RETURN_IF_ERROR(WriteHeader(fd));
//   ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path));
//   ASSIGN_OR_RETURN(auto info, store.Info(digest));

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define BERTH_STATUS_CONCAT_INNER_(x, y) x##y
#define BERTH_STATUS_CONCAT_(x, y) BERTH_STATUS_CONCAT_INNER_(x, y)

#define RETURN_IF_ERROR(expr)                                  \
  do {                                                         \
    if (absl::Status berth_status_ = (expr); !berth_status_.ok()) { \
      return berth_status_;                                    \
    }                                                          \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr) \
  BERTH_ASSIGN_OR_RETURN_IMPL_(BERTH_STATUS_CONCAT_(berth_statusor_, __LINE__), lhs, expr)

#define BERTH_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                 \
  if (!statusor.ok()) {                                   \
    return std::move(statusor).status();                  \
  }                                                       \
  lhs = std::move(statusor).value()
