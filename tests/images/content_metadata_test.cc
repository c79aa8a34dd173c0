// The namespaced content layer (services/metadata/content.h) and the image store.

#include <thread>

#include "gmock/gmock.h"
#include "tests/images/fixture.h"

namespace berth::metadata {
namespace {

using ::testing::HasSubstr;

using ContentTest = MetadataFixture;

TEST_F(ContentTest, BlobIsVisibleOnlyInItsNamespaceAndLinkedElsewhere) {
  std::string digest = Put("a", "hello");
  EXPECT_TRUE(Visible("a", digest));
  EXPECT_FALSE(Visible("b", digest));
  EXPECT_THAT(content_->Info("b", digest).status().message(), HasSubstr(": not found"));
  // Writing it in b: the bytes exist, so the writer only links them (offset = size at STAT).
  auto digest_value = *content::Digest::Parse(digest);
  auto writer = content_->OpenWriter({"b", std::nullopt}, "r", 5, digest);
  ASSERT_TRUE(writer.ok()) << writer.status();
  EXPECT_EQ((*writer)->Status().offset(), 5);
  EXPECT_TRUE((*writer)->Commit(5, digest_value, {}).ok());
  EXPECT_TRUE(Visible("b", digest));
  // And now it exists in b: AlreadyExists at open.
  EXPECT_TRUE(absl::IsAlreadyExists(
      content_->OpenWriter({"b", std::nullopt}, "r2", 5, digest).status()));
}

TEST_F(ContentTest, WrongDigestOrSizeMakesNoBlob) {
  auto writer = content_->OpenWriter({"a", std::nullopt}, "bad", 0, "");
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write("abc").ok());
  absl::Status status = (*writer)->Commit(4, content::Digest(), {});
  EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
  auto writer2 = content_->OpenWriter({"a", std::nullopt}, "bad2", 0, "");
  ASSERT_TRUE((*writer2)->Write("abc").ok());
  status = (*writer2)->Commit(3, content::Digest::FromBytes("abd"), {});
  EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
  EXPECT_FALSE(OnDisk(content::Digest::FromBytes("abc").string()));
}

TEST_F(ContentTest, ResumeAfterWriterDropped) {
  std::string data(300000, 'x');
  {
    auto writer = content_->OpenWriter({"a", std::nullopt}, "resume", 300000, "");
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(data.substr(0, 1000)).ok());
  }
  auto status = content_->Status("a", "resume");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->offset(), 1000);
  EXPECT_TRUE(absl::IsNotFound(content_->Status("b", "resume").status()));
  auto writer = content_->OpenWriter({"a", std::nullopt}, "resume", 300000, "");
  ASSERT_TRUE(writer.ok());
  EXPECT_EQ((*writer)->Status().offset(), 1000);
  ASSERT_TRUE((*writer)->Write(data.substr(1000)).ok());
  ASSERT_TRUE((*writer)->Commit(300000, content::Digest::FromBytes(data), {}).ok());
  EXPECT_TRUE(Visible("a", content::Digest::FromBytes(data).string()));
  EXPECT_TRUE(absl::IsNotFound(content_->Status("a", "resume").status()));
}

TEST_F(ContentTest, SecondWriterOnRefIsUnavailable) {
  auto first = content_->OpenWriter({"a", std::nullopt}, "locked", 0, "");
  ASSERT_TRUE(first.ok());
  auto second = content_->OpenWriter({"a", std::nullopt}, "locked", 0, "");
  EXPECT_TRUE(absl::IsUnavailable(second.status())) << second.status();
  // Another namespace has its own ingest under the same ref.
  EXPECT_TRUE(content_->OpenWriter({"b", std::nullopt}, "locked", 0, "").ok());
}

TEST_F(ContentTest, LeaseMustExistAndHoldsCommittedBlob) {
  EXPECT_THAT(content_->OpenWriter({"a", "nope"}, "r", 0, "").status().message(),
              HasSubstr("lease does not exist"));
  Lease lease;
  lease.set_id("l1");
  ASSERT_TRUE(leases_->Create("a", lease).ok());
  std::string digest = Put("a", "leased", {}, "l1");
  auto resources = leases_->ListResources("a", "l1");
  ASSERT_TRUE(resources.ok());
  ASSERT_EQ(resources->size(), 1u);
  EXPECT_EQ((*resources)[0].type(), "content");
  EXPECT_EQ((*resources)[0].id(), digest);
}

TEST_F(ContentTest, UpdateLabelsByFieldMask) {
  std::string digest = Put("a", "labelled", {{"x", "1"}, {"y", "2"}});
  ContentInfo info;
  info.set_digest(digest);
  (*info.mutable_labels())["x"] = "10";
  auto updated = content_->Update("a", info, {"labels.x", "labels.y"});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->labels().at("x"), "10");
  EXPECT_FALSE(updated->labels().contains("y"));
  EXPECT_TRUE(absl::IsInvalidArgument(content_->Update("a", info, {"size"}).status()));
  EXPECT_TRUE(absl::IsNotFound(content_->Update("b", info, {}).status()));
}

TEST_F(ContentTest, DeleteAndAbort) {
  std::string digest = Put("a", "gone");
  ASSERT_TRUE(content_->Delete("a", digest).ok());
  EXPECT_FALSE(Visible("a", digest));
  EXPECT_TRUE(absl::IsNotFound(content_->Delete("a", digest)));
  auto writer = content_->OpenWriter({"a", std::nullopt}, "ab", 0, "");
  ASSERT_TRUE((*writer)->Write("x").ok());
  writer->reset();
  EXPECT_TRUE(content_->Abort("a", "ab").ok());
  EXPECT_TRUE(absl::IsNotFound(content_->Abort("a", "ab")));
}

TEST_F(ContentTest, ImageValidationAndUpdate) {
  Image image;
  EXPECT_THAT(images_->Create("a", image).status().message(), HasSubstr("name must not be empty"));
  image.set_name("docker.io/library/x:1");
  image.mutable_target()->set_digest("sha256:nope");
  EXPECT_TRUE(absl::IsInvalidArgument(images_->Create("a", image).status()));
  std::string digest = Put("a", "{}");
  CreateImage("a", "docker.io/library/x:1", digest, 2);
  image = *images_->Get("a", "docker.io/library/x:1");
  EXPECT_TRUE(absl::IsAlreadyExists(images_->Create("a", image).status()));
  (*image.mutable_labels())["k"] = "v";
  auto updated = images_->Update("a", image, {"labels.k"});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->labels().at("k"), "v");
  EXPECT_TRUE(absl::IsInvalidArgument(images_->Update("a", image, {"name"}).status()));
  EXPECT_TRUE(images_->Delete("a", "docker.io/library/x:1").ok());
  EXPECT_THAT(images_->Get("a", "docker.io/library/x:1").status().message(),
              HasSubstr("image \"docker.io/library/x:1\": not found"));
}

}  // namespace
}  // namespace berth::metadata
