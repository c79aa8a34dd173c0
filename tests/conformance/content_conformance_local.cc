// ContentStoreConformance for the local filesystem backend.

#include "content/local/local_store.h"
#include "tests/conformance/content_conformance.h"

namespace berth::content::testing {
namespace {

absl::StatusOr<std::unique_ptr<ContentStore>> CreateLocal(const std::string& root) {
  auto store = local::LocalContentStore::Create(root);
  if (!store.ok()) {
    return store.status();
  }
  return std::unique_ptr<ContentStore>(*std::move(store));
}

INSTANTIATE_TEST_SUITE_P(Local, ContentStoreConformance,
                         ::testing::Values(ContentStoreFactory{"local", &CreateLocal,
                                                               /*stores_labels=*/false}),
                         ContentStoreFactoryName);

}  // namespace
}  // namespace berth::content::testing
