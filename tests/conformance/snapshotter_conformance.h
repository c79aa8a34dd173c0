#pragma once

// SnapshotterConformance: the behaviour every Snapshotter must show, as a value-parameterized
// gtest suite over snapshotter factories (containerd snapshots/testsuite SnapshotterSuite).
//
// To run it against a snapshotter, add a file with one instantiation to the suite's binary
// (tests/conformance/snapshotter.cmake):
//
//   INSTANTIATE_TEST_SUITE_P(Native, SnapshotterConformance,
//       ::testing::Values(SnapshotterFactory{"native", &CreateNative}),
//       SnapshotterFactoryName);
//
// The tests mount what snapshotters return, so they need root (CAP_SYS_ADMIN); without it
// they skip. A factory that answers kUnimplemented (e.g. overlayfs missing from the kernel)
// makes the test skip with that reason. Every mount a test makes is unmounted and the
// temporary directory removed in TearDown, even when the test fails.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "plugins/base/temp_dir.h"
#include "snapshotter/mount_util.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter::testing {

struct SnapshotterFactory {
  // Test-name suffix: [A-Za-z0-9_]+.
  std::string name;
  // Opens a snapshotter on `root`, a directory owned by the test. Called again on the same
  // root after the previous instance is destroyed, to model a daemon restart.
  std::function<absl::StatusOr<std::unique_ptr<Snapshotter>>(const std::string& root)> create;
  // Optional: removes state the snapshotter keeps outside `root`, after it is destroyed.
  std::function<void(const std::string& root)> cleanup;
};

std::string SnapshotterFactoryName(const ::testing::TestParamInfo<SnapshotterFactory>& info);

// Writes `content` to `path` (creating or truncating it) with `mode`; test helper.
::testing::AssertionResult WriteTestFile(const std::string& path, const std::string& content,
                                         mode_t mode = 0644);
// The content of `path`, or an error message prefixed with "error: ".
std::string ReadTestFile(const std::string& path);

class SnapshotterConformance : public ::testing::TestWithParam<SnapshotterFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  Snapshotter& sn() { return *snapshotter_; }
  const std::string& root() const { return root_; }
  // Destroys the snapshotter and opens a new one on the same root (a daemon restart).
  void Reopen();
  // Mounts `mounts` on a fresh directory <work>/<name> and returns its path; unmounted in
  // TearDown unless Unmount()ed before. Fails the test (fatally) on error.
  std::string MountAt(const std::vector<Mount>& mounts, const std::string& name);
  void Unmount(const std::string& path);
  // Prepare(key, parent), mount, write files {path -> content}, unmount, Commit(name, key).
  void CommitLayer(const std::string& name, const std::string& parent,
                   const std::vector<std::pair<std::string, std::string>>& files);

  std::optional<ScopedTempDir> dir_;
  std::string root_;
  std::string work_;
  std::unique_ptr<Snapshotter> snapshotter_;
  std::vector<ScopedMount> mounts_;
};

}  // namespace berth::snapshotter::testing
