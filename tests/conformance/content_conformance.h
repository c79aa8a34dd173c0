#pragma once

// ContentStoreConformance: the behaviour every ContentStore must show, as a value-
// parameterized gtest suite over store factories (containerd content/testsuite ContentSuite).
//
// To run it against a store, add a file with one instantiation to the suite's test binary
// (tests/conformance/CMakeLists.txt):
//
//   INSTANTIATE_TEST_SUITE_P(Local, ContentStoreConformance,
//       ::testing::Values(ContentStoreFactory{"local", &CreateLocal, /*stores_labels=*/false}),
//       ContentStoreFactoryName);

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "content/content_store.h"
#include "gtest/gtest.h"
#include "plugins/base/temp_dir.h"

namespace berth::content::testing {

struct ContentStoreFactory {
  // Test-name suffix: [A-Za-z0-9_]+.
  std::string name;
  // Opens a store on `root`, an existing directory owned by the test. Called again on the same
  // root after the previous store is destroyed, to model a daemon restart.
  std::function<absl::StatusOr<std::unique_ptr<ContentStore>>(const std::string& root)> create;
  // Whether Update/Commit keep labels (metadata-backed stores) or Update answers
  // kFailedPrecondition (plain backends).
  bool stores_labels = false;
};

std::string ContentStoreFactoryName(const ::testing::TestParamInfo<ContentStoreFactory>& info);

class ContentStoreConformance : public ::testing::TestWithParam<ContentStoreFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  ContentStore& store() { return *store_; }
  // Destroys the store and opens a new one on the same root (a daemon restart).
  void Reopen();

  std::optional<ScopedTempDir> dir_;
  std::unique_ptr<ContentStore> store_;
};

}  // namespace berth::content::testing
