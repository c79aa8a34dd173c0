// The Content.Write session as containerd's clients drive it, against a real berthd: resume
// after the client vanished mid-write, mismatched digest or size, a locked ref, a wrong
// offset; and Read with offset and size.

#include <fstream>
#include <thread>

#include "content/digest.h"
#include "gmock/gmock.h"
#include "tests/integration_images/images_fixture.h"

namespace berth::testutil {
namespace {

using ::testing::HasSubstr;

class ContentWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto daemon = TestDaemon::Start();
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
    stub_ = content_api::Content::NewStub(daemon_->NewChannel());
  }

  using Stream = grpc::ClientReaderWriter<content_api::WriteContentRequest,
                                          content_api::WriteContentResponse>;
  struct Session {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<Stream> stream;
  };
  Session Open() {
    Session session{NamespacedContext("default", std::chrono::seconds(30)), nullptr};
    session.stream = stub_->Write(session.context.get());
    return session;
  }
  // Sends one request and reads the reply; false if the server ended the stream.
  static bool Send(Session& s, const content_api::WriteContentRequest& request,
                   content_api::WriteContentResponse* response) {
    return s.stream->Write(request) && s.stream->Read(response);
  }
  static content_api::WriteContentRequest Stat(const std::string& ref, int64_t total = 0,
                                               const std::string& expected = "") {
    content_api::WriteContentRequest request;
    request.set_action(content_api::STAT);
    request.set_ref(ref);
    request.set_total(total);
    request.set_expected(expected);
    return request;
  }
  static content_api::WriteContentRequest Write(int64_t offset, const std::string& data) {
    content_api::WriteContentRequest request;
    request.set_action(content_api::WRITE);
    request.set_offset(offset);
    request.set_data(data);
    return request;
  }
  static content_api::WriteContentRequest Commit(int64_t offset, int64_t total,
                                                 const std::string& expected) {
    content_api::WriteContentRequest request;
    request.set_action(content_api::COMMIT);
    request.set_offset(offset);
    request.set_total(total);
    request.set_expected(expected);
    return request;
  }
  grpc::Status Info(const std::string& digest, content_api::Info* info = nullptr) {
    content_api::InfoRequest request;
    request.set_digest(digest);
    content_api::InfoResponse response;
    grpc::Status status = stub_->Info(NamespacedContext("default").get(), request, &response);
    if (info != nullptr) *info = response.info();
    return status;
  }

  // `berthctl content ingest` with `args`, stdin from `input` (nullopt: /dev/null).
  CommandResult Ingest(std::vector<std::string> args, std::optional<std::string> input = {}) {
    args.insert(args.begin(), {BuildPath("ctl/berthctl"), "-a", daemon_->address(), "-n",
                               "default", "content", "ingest"});
    RunOptions options;
    options.stdin_data = std::move(input);
    options.env = {"BERTH_ADDRESS=", "BERTH_NAMESPACE="};
    auto result = RunCommand(args, options);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : CommandResult{};
  }
  // Writes the first `bytes` of `data` to an ingest of `ref` and leaves as a killed client
  // would; waits until the daemon has let the ref go.
  void LeaveIngest(const std::string& ref, const std::string& data, int64_t bytes) {
    content_api::WriteContentResponse response;
    {
      Session session = Open();
      ASSERT_TRUE(Send(session, Stat(ref), &response));
      ASSERT_TRUE(Send(session, Write(0, data.substr(0, bytes)), &response));
      session.context->TryCancel();
    }
    for (int attempt = 0; attempt < 100; ++attempt) {
      Session probe = Open();
      if (Send(probe, Stat(ref), &response)) {
        ASSERT_EQ(response.offset(), bytes);
        probe.context->TryCancel();
        return;
      }
      (void)probe.stream->Finish();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL() << "ref " << ref << " stayed locked";
  }

  std::unique_ptr<TestDaemon> daemon_;
  std::unique_ptr<content_api::Content::Stub> stub_;
};

// Data that differs from `seed` to `seed`, in every 4 KiB block.
std::string Pattern(size_t size, int seed) {
  std::string data(size, '\0');
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>(i * 13 + i / 4096 + seed);
  return data;
}

TEST_F(ContentWriteTest, ResumesFromStatusOffsetAfterClientVanished) {
  std::string data(5 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + i / 4096);
  std::string digest = content::Digest::FromBytes(data).string();
  const int64_t total = static_cast<int64_t>(data.size());
  content_api::WriteContentResponse response;
  {
    Session first = Open();
    ASSERT_TRUE(Send(first, Stat("layer-x", total, digest), &response));
    EXPECT_EQ(response.offset(), 0);
    for (int64_t offset = 0; offset < (3 << 20); offset += 1 << 20) {
      ASSERT_TRUE(Send(first, Write(offset, data.substr(offset, 1 << 20)), &response));
    }
    first.context->TryCancel();  // the client is gone mid-ingest
  }
  // The next writer resumes where Status says (retrying while the old session lets go: a
  // WRITE is answered before its bytes are written, so the old session may still be writing).
  Session second;
  for (int attempt = 0; attempt < 50; ++attempt) {
    second = Open();
    if (Send(second, Stat("layer-x", total, digest), &response)) break;
    grpc::Status finished = second.stream->Finish();
    ASSERT_EQ(finished.error_code(), grpc::StatusCode::UNAVAILABLE) << StatusText(finished);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  content_api::StatusRequest status_request;
  status_request.set_ref("layer-x");
  content_api::StatusResponse status;
  ASSERT_TRUE(stub_->Status(NamespacedContext("default").get(), status_request, &status).ok());
  EXPECT_EQ(status.status().offset(), 3 << 20);  // every acknowledged chunk is there
  int64_t offset = response.offset();
  ASSERT_EQ(offset, status.status().offset());
  for (; offset + (1 << 20) < total; offset += 1 << 20) {
    ASSERT_TRUE(Send(second, Write(offset, data.substr(offset, 1 << 20)), &response));
  }
  content_api::WriteContentRequest commit = Commit(offset, total, digest);
  commit.set_data(data.substr(offset));
  ASSERT_TRUE(Send(second, commit, &response));
  EXPECT_EQ(response.digest(), digest);
  second.stream->WritesDone();
  ASSERT_TRUE(second.stream->Finish().ok());
  content_api::Info info;
  ASSERT_TRUE(Info(digest, &info).ok());
  EXPECT_EQ(info.size(), total);
}

TEST_F(ContentWriteTest, WrongDigestOrSizeIsAnErrorAndNoBlob) {
  content_api::WriteContentResponse response;
  std::string wrong = content::Digest::FromBytes("other").string();
  Session session = Open();
  ASSERT_TRUE(Send(session, Stat("bad-digest"), &response));
  content_api::WriteContentRequest commit = Commit(0, 4, wrong);
  commit.set_data("data");
  EXPECT_FALSE(Send(session, commit, &response));
  grpc::Status status = session.stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << StatusText(status);
  EXPECT_EQ(Info(content::Digest::FromBytes("data").string()).error_code(),
            grpc::StatusCode::NOT_FOUND);

  Session sized = Open();
  ASSERT_TRUE(Send(sized, Stat("bad-size"), &response));
  commit = Commit(0, 5, "");
  commit.set_data("data");
  EXPECT_FALSE(Send(sized, commit, &response));
  status = sized.stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << StatusText(status);
  EXPECT_EQ(Info(content::Digest::FromBytes("data").string()).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ContentWriteTest, SecondWriterOnRefGetsUnavailable) {
  content_api::WriteContentResponse response;
  Session first = Open();
  ASSERT_TRUE(Send(first, Stat("locked"), &response));
  Session second = Open();
  EXPECT_FALSE(Send(second, Stat("locked"), &response));
  grpc::Status status = second.stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << StatusText(status);
  EXPECT_THAT(status.error_message(), HasSubstr("locked"));
}

TEST_F(ContentWriteTest, WrongOffsetIsOutOfRangeAndExistingBlobAlreadyExists) {
  content_api::WriteContentResponse response;
  Session session = Open();
  ASSERT_TRUE(Send(session, Stat("offsets"), &response));
  ASSERT_TRUE(Send(session, Write(0, "abc"), &response));
  EXPECT_FALSE(Send(session, Write(7, "def"), &response));
  grpc::Status status = session.stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE) << StatusText(status);

  ContentClient client(daemon_->NewChannel());
  std::string digest = client.WriteBlob("exists", "");
  ASSERT_FALSE(digest.empty());
  Session again = Open();
  EXPECT_FALSE(Send(again, Stat("again", 6, digest), &response));
  status = again.stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS) << StatusText(status);
}

TEST_F(ContentWriteTest, ReadHonoursOffsetAndSize) {
  ContentClient client(daemon_->NewChannel());
  std::string data(3 << 20, 'r');
  data[(1 << 20) + 5] = 'X';
  std::string digest = client.WriteBlob(data, "");
  ASSERT_FALSE(digest.empty());
  content_api::ReadContentRequest request;
  request.set_digest(digest);
  request.set_offset((1 << 20) + 5);
  request.set_size(10);
  auto context = NamespacedContext("default");
  auto reader = stub_->Read(context.get(), request);
  content_api::ReadContentResponse chunk;
  std::string got;
  while (reader->Read(&chunk)) got += chunk.data();
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(got, "Xrrrrrrrrr");
  request.set_offset(0);
  request.set_size(0);
  auto context2 = NamespacedContext("default");
  reader = stub_->Read(context2.get(), request);
  size_t chunks = 0, bytes = 0;
  while (reader->Read(&chunk)) {
    EXPECT_LE(chunk.data().size(), 1u << 20);
    bytes += chunk.data().size();
    ++chunks;
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(bytes, data.size());
  EXPECT_EQ(chunks, 3u);
}

}  // namespace
}  // namespace berth::testutil

namespace berth::testutil {
namespace {

TEST_F(ContentWriteTest, BerthctlIngestsAFileAndStdin) {
  std::string data = Pattern((3 << 20) + 12345, 1);  // several chunks and a ragged tail
  std::string digest = content::Digest::FromBytes(data).string();
  std::string path = daemon_->dir() + "/blob";
  std::ofstream(path, std::ios::binary) << data;
  CommandResult file = Ingest({"-i", path, "--expected-size", std::to_string(data.size()),
                               "--expected-digest", digest, "from-file"});
  ASSERT_EQ(file.exit_code, 0) << file.err;
  EXPECT_EQ(file.out, digest + "\n");
  content_api::Info info;
  ASSERT_TRUE(Info(digest, &info).ok());
  EXPECT_EQ(info.size(), static_cast<int64_t>(data.size()));
  // Again: the blob exists, which `ctr content ingest` also counts as success.
  CommandResult again = Ingest({"-i", path, "--expected-digest", digest, "again"});
  EXPECT_EQ(again.exit_code, 0) << again.err;

  std::string piped = Pattern(100000, 2);
  std::string piped_digest = content::Digest::FromBytes(piped).string();
  CommandResult stdin_result = Ingest({"from-stdin"}, piped);
  ASSERT_EQ(stdin_result.exit_code, 0) << stdin_result.err;
  EXPECT_EQ(stdin_result.out, piped_digest + "\n");
}

// The first 2 MiB of the ingest come from an earlier client and differ from the file's: the
// committed blob is the earlier bytes plus the rest of the file only if berthctl resumed at
// the daemon's offset instead of writing from 0.
TEST_F(ContentWriteTest, BerthctlResumesAnIngestAtTheDaemonsOffset) {
  const int64_t earlier = 2 << 20;
  std::string file_data = Pattern(5 << 20, 3);
  std::string earlier_data = Pattern(earlier, 4);
  std::string resumed = earlier_data + file_data.substr(earlier);
  std::string digest = content::Digest::FromBytes(resumed).string();
  std::string path = daemon_->dir() + "/blob";
  std::ofstream(path, std::ios::binary) << file_data;

  ASSERT_NO_FATAL_FAILURE(LeaveIngest("seekable", earlier_data, earlier));
  CommandResult file = Ingest({"-i", path, "--expected-digest", digest, "seekable"});
  ASSERT_EQ(file.exit_code, 0) << file.err;
  EXPECT_EQ(file.out, digest + "\n");

  // The same through a pipe (read and dropped up to the offset), with other file bytes.
  std::string piped_data = Pattern(5 << 20, 6);
  std::string piped_digest =
      content::Digest::FromBytes(earlier_data + piped_data.substr(earlier)).string();
  ASSERT_NO_FATAL_FAILURE(LeaveIngest("piped", earlier_data, earlier));
  CommandResult piped = Ingest({"--expected-digest", piped_digest, "piped"}, piped_data);
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out, piped_digest + "\n");
}

TEST_F(ContentWriteTest, BerthctlIngestWithTheWrongDigestFailsAndStoresNothing) {
  std::string data = Pattern(2 << 20, 5);
  std::string wrong = content::Digest::FromBytes("something else").string();
  CommandResult result = Ingest({"--expected-digest", wrong, "wrong"}, data);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.err, HasSubstr("unexpected commit digest"));
  EXPECT_EQ(Info(content::Digest::FromBytes(data).string()).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace berth::testutil
