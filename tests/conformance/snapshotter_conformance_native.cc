// The conformance suite on NativeSnapshotter.

#include "snapshotter/native/native_snapshotter.h"
#include "tests/conformance/snapshotter_conformance.h"

namespace berth::snapshotter::testing {
namespace {

absl::StatusOr<std::unique_ptr<Snapshotter>> CreateNative(const std::string& root) {
  auto s = native::NativeSnapshotter::Create(root);
  if (!s.ok()) return s.status();
  return std::unique_ptr<Snapshotter>(std::move(*s));
}

INSTANTIATE_TEST_SUITE_P(Native, SnapshotterConformance,
                         ::testing::Values(SnapshotterFactory{"native", &CreateNative, nullptr}),
                         SnapshotterFactoryName);

}  // namespace
}  // namespace berth::snapshotter::testing
