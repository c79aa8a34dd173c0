#pragma once

// Whole-blob conveniences over any ContentStore (containerd content/helpers.go): for small
// blobs such as manifests and configs, and for tests. Large blobs should be streamed.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "content/content_store.h"
#include "content/digest.h"

namespace berth::content {

// The whole blob `digest`. kNotFound if absent; kDataLoss if it is shorter than its size.
absl::StatusOr<std::string> ReadBlob(ContentStore& store, const Digest& digest);

// Writes `data` as one blob through the ingest `ref` (restarting any ingest left there) and
// commits it, checking its size and, if non-empty, `expected`. A blob that already exists is
// success, as in containerd's WriteBlob. Other errors as OpenWriter/Commit; kUnavailable if
// `ref` is locked.
absl::Status WriteBlob(ContentStore& store, absl::string_view ref, absl::string_view data,
                       const Digest& expected);

}  // namespace berth::content
