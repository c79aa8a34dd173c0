// Proves that Berth's proto/ is wire-identical to containerd 1.6's API: both are compiled with
// protoc and every message, field, enum, service and method is compared by full name, both ways.

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/temp_dir.h"
#include "tests/proto/descriptor_diff.h"
#include "tests/proto/descriptor_sets.h"

namespace berth::proto_test {
namespace {

using google::protobuf::DescriptorProto;
using google::protobuf::FieldDescriptorProto;
using google::protobuf::FileDescriptorProto;
using google::protobuf::FileDescriptorSet;
using google::protobuf::ServiceDescriptorProto;

struct BuiltSets {
  absl::Status status;
  FileDescriptorSet containerd;
  FileDescriptorSet berth;
};

absl::Status BuildInto(BuiltSets& sets) {
  ASSIGN_OR_RETURN(ScopedTempDir dir, ScopedTempDir::Create(::testing::TempDir(), "wire_compat"));
  ASSIGN_OR_RETURN(sets.containerd, BuildContainerdDescriptorSet(
                                        BERTH_PROTOC, BERTH_PROTOBUF_INCLUDE_DIR, dir.path()));
  ASSIGN_OR_RETURN(sets.berth, BuildBerthDescriptorSet(BERTH_PROTOC, BERTH_PROTOBUF_INCLUDE_DIR,
                                                       BERTH_PROTO_SOURCE_DIR, dir.path()));
  return absl::OkStatus();
}

// Both descriptor sets, built once per test binary run.
const BuiltSets& Sets() {
  static const BuiltSets* sets = [] {
    auto* built = new BuiltSets;
    built->status = BuildInto(*built);
    return built;
  }();
  return *sets;
}

bool HasFile(const FileDescriptorSet& set, const std::string& name) {
  for (const FileDescriptorProto& file : set.file()) {
    if (file.name() == name) return true;
  }
  return false;
}

// The element of `items` called `name`, or nullptr.
template <typename T>
T* FindByName(google::protobuf::RepeatedPtrField<T>& items, const std::string& name) {
  for (T& item : items) {
    if (item.name() == name) return &item;
  }
  return nullptr;
}

// The top-level message or service `name` in `package`, or nullptr.
DescriptorProto* MutableMessage(FileDescriptorSet& set, const std::string& package,
                                const std::string& name) {
  for (FileDescriptorProto& file : *set.mutable_file()) {
    if (file.package() != package) continue;
    if (auto* found = FindByName(*file.mutable_message_type(), name)) return found;
  }
  return nullptr;
}

ServiceDescriptorProto* MutableService(FileDescriptorSet& set, const std::string& package,
                                       const std::string& name) {
  for (FileDescriptorProto& file : *set.mutable_file()) {
    if (file.package() != package) continue;
    if (auto* found = FindByName(*file.mutable_service(), name)) return found;
  }
  return nullptr;
}

bool AnyDiffMentions(const std::vector<std::string>& diffs, const std::string& needle) {
  for (const std::string& diff : diffs) {
    if (absl::StrContains(diff, needle)) return true;
  }
  return false;
}

// CI installs golang-github-containerd-containerd-dev; without it the test must fail, not skip.
TEST(WireCompatTest, ContainerdSourcesAreInstalled) {
  for (const std::string& file : ContainerdProtoFiles()) {
    EXPECT_TRUE(PathExists(JoinPath(kContainerdSourceDir, file)))
        << file << " not found under " << kContainerdSourceDir
        << "; install golang-github-containerd-containerd-dev";
  }
  EXPECT_TRUE(PathExists(kGoogleRpcStatusProto))
      << "install golang-github-gogo-googleapis-dev (a dependency of the containerd package)";
}

TEST(WireCompatTest, BothSetsCompileAndCoverEveryFile) {
  const BuiltSets& sets = Sets();
  ASSERT_TRUE(sets.status.ok()) << sets.status;
  for (const std::string& file : ContainerdProtoFiles()) {
    EXPECT_TRUE(HasFile(sets.containerd, JoinPath(kContainerdImportPrefix, file))) << file;
  }
  absl::StatusOr<std::vector<std::string>> ours = BerthProtoFiles(BERTH_PROTO_SOURCE_DIR);
  ASSERT_TRUE(ours.ok()) << ours.status();
  // containerd's files plus google/rpc/status.proto.
  EXPECT_EQ(ours->size(), ContainerdProtoFiles().size() + 1) << absl::StrJoin(*ours, "\n");
  for (const std::string& file : *ours) {
    EXPECT_TRUE(HasFile(sets.berth, file)) << file;
  }
}

TEST(WireCompatTest, BerthMatchesContainerd16) {
  const BuiltSets& sets = Sets();
  ASSERT_TRUE(sets.status.ok()) << sets.status;
  const DescriptorIndex index = IndexDescriptorSet(sets.containerd);
  // Guard against comparing two empty sets.
  ASSERT_TRUE(index.contains("service containerd.services.containers.v1.Containers"));
  ASSERT_TRUE(index.contains("service containerd.task.v2.Task"));
  ASSERT_GT(index.size(), 500u);
  for (const std::string& diff :
       DiffDescriptorSets(sets.containerd, sets.berth, "containerd 1.6", "Berth")) {
    ADD_FAILURE() << diff;
  }
}

// The comparator must notice a change to the real set; otherwise the test above proves nothing.
TEST(WireCompatTest, ComparatorCatchesChangesToBerthSet) {
  const BuiltSets& sets = Sets();
  ASSERT_TRUE(sets.status.ok()) << sets.status;

  FileDescriptorSet renumbered = sets.berth;
  DescriptorProto* container =
      MutableMessage(renumbered, "containerd.services.containers.v1", "Container");
  ASSERT_NE(container, nullptr);
  FieldDescriptorProto* id = FindByName(*container->mutable_field(), "id");
  ASSERT_NE(id, nullptr);
  id->set_number(99);
  std::vector<std::string> diffs = DiffDescriptorSets(sets.containerd, renumbered);
  EXPECT_EQ(diffs.size(), 1u) << absl::StrJoin(diffs, "\n");
  EXPECT_TRUE(AnyDiffMentions(diffs, "field containerd.services.containers.v1.Container.id"));

  FileDescriptorSet no_wait = sets.berth;
  ServiceDescriptorProto* tasks = MutableService(no_wait, "containerd.services.tasks.v1", "Tasks");
  ASSERT_NE(tasks, nullptr);
  ASSERT_EQ(tasks->method(tasks->method_size() - 1).name(), "Wait");
  tasks->mutable_method()->RemoveLast();
  diffs = DiffDescriptorSets(sets.containerd, no_wait);
  EXPECT_TRUE(AnyDiffMentions(diffs, "method containerd.services.tasks.v1.Tasks.Wait"))
      << absl::StrJoin(diffs, "\n");
}

}  // namespace
}  // namespace berth::proto_test
