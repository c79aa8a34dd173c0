#pragma once

// The fixture of the image integration tests: test images built once per binary by
// make_images.sh (umoci + skopeo from /usr/bin/busybox), a private berthd per test, and
// runners for ctr, berthctl and skopeo. ContentClient drives the Content and Leases services
// directly.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "containerd/services/content/v1/content.grpc.pb.h"
#include "containerd/services/leases/v1/leases.grpc.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testutil/grpc_client.h"
#include "tests/testutil/process.h"
#include "tests/testutil/test_daemon.h"

namespace berth::testutil {

namespace content_api = containerd::services::content::v1;
namespace leases_api = containerd::services::leases::v1;

inline std::string Sha256Hex(const std::string& digest) { return digest.substr(7); }

// Content.Write and Leases over gRPC, the way containerd's clients drive them.
class ContentClient {
 public:
  explicit ContentClient(std::shared_ptr<grpc::Channel> channel)
      : content_(content_api::Content::NewStub(channel)),
        leases_(leases_api::Leases::NewStub(channel)) {}

  grpc::Status CreateLease(const std::string& id) {
    leases_api::CreateRequest request;
    request.set_id(id);
    leases_api::CreateResponse response;
    return leases_->Create(NamespacedContext("default").get(), request, &response);
  }
  grpc::Status DeleteLease(const std::string& id, bool sync) {
    leases_api::DeleteRequest request;
    request.set_id(id);
    request.set_sync(sync);
    google::protobuf::Empty empty;
    return leases_->Delete(NamespacedContext("default", std::chrono::seconds(60)).get(), request,
                           &empty);
  }
  // STAT, one WRITE, COMMIT; the digest ("" on failure).
  std::string WriteBlob(const std::string& data, const std::string& lease) {
    auto context = NamespacedContext("default");
    if (!lease.empty()) context->AddMetadata("containerd-lease", lease);
    auto stream = content_->Write(context.get());
    content_api::WriteContentRequest request;
    content_api::WriteContentResponse response;
    request.set_action(content_api::STAT);
    request.set_ref("blob-" + std::to_string(std::hash<std::string>()(data)));
    if (!stream->Write(request) || !stream->Read(&response)) return "";
    request.Clear();
    request.set_action(content_api::COMMIT);
    request.set_offset(0);
    request.set_data(data);
    request.set_total(static_cast<int64_t>(data.size()));
    if (!stream->Write(request) || !stream->Read(&response)) return "";
    stream->WritesDone();
    return stream->Finish().ok() ? response.digest() : "";
  }

  content_api::Content::Stub& content() { return *content_; }

 private:
  std::unique_ptr<content_api::Content::Stub> content_;
  std::unique_ptr<leases_api::Leases::Stub> leases_;
};

class ImagesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const char* tool : {"/usr/bin/umoci", "/usr/bin/skopeo", "/usr/bin/busybox"}) {
      if (access(tool, X_OK) != 0) return;
    }
    char pattern[] = "/tmp/berth-images-XXXXXX";
    if (mkdtemp(pattern) == nullptr) return;
    RunOptions options;
    options.timeout = std::chrono::seconds(180);
    auto result = RunCommand({"sh", BERTH_IMAGES_SCRIPT, pattern}, options);
    if (result.ok() && result->ok()) {
      images_dir_ = new std::string(pattern);
    } else {
      ADD_FAILURE() << (result.ok() ? result->Describe() : result.status().ToString());
    }
  }
  static void TearDownTestSuite() {
    if (images_dir_ != nullptr) std::filesystem::remove_all(*images_dir_);
    delete images_dir_;
    images_dir_ = nullptr;
  }

  void SetUp() override {
    if (images_dir_ == nullptr) GTEST_SKIP() << "umoci/skopeo/busybox missing or image build failed";
    auto daemon = TestDaemon::Start();
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
  }

  std::string Image(const std::string& file) const { return *images_dir_ + "/" + file; }
  std::string Temp(const std::string& file) const { return daemon_->dir() + "/" + file; }
  std::string ContentRoot() const {
    return daemon_->root() + "/io.containerd.content.v1.content";
  }

  CommandResult Run(const std::vector<std::string>& argv) {
    RunOptions options;
    options.timeout = std::chrono::seconds(120);
    options.env = {"CONTAINERD_ADDRESS=", "CONTAINERD_NAMESPACE=default", "BERTH_ADDRESS=",
                   "BERTH_NAMESPACE=default"};
    auto result = RunCommand(argv, options);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : CommandResult{};
  }
  CommandResult Ctr(std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/ctr", "-a", daemon_->address(), "-n", "default"});
    return Run(args);
  }
  CommandResult Berthctl(std::vector<std::string> args) {
    args.insert(args.begin(), {BuildPath("ctl/berthctl"), "-a", daemon_->address()});
    return Run(args);
  }

  // Bytes of every file under the content store (blobs and ingests).
  int64_t ContentBytes() const {
    int64_t total = 0;
    std::error_code error;
    for (auto it = std::filesystem::recursive_directory_iterator(ContentRoot(), error);
         !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
      if (it->is_regular_file()) total += static_cast<int64_t>(it->file_size());
    }
    return total;
  }
  bool BlobOnDisk(const std::string& digest) const {
    struct stat st;
    return stat((ContentRoot() + "/blobs/sha256/" + Sha256Hex(digest)).c_str(), &st) == 0;
  }

  // The busybox image of the OCI layout (oci/), as make_images.sh built it.
  nlohmann::json ReadJson(const std::string& path) const {
    std::ifstream in(path);
    return nlohmann::json::parse(in, nullptr, false);
  }
  std::string BlobPath(const std::string& digest) const {
    return Image("oci/blobs/sha256/" + Sha256Hex(digest));
  }
  std::string ManifestDigest() const {
    nlohmann::json index = ReadJson(Image("oci/index.json"));
    for (const auto& m : index["manifests"]) {
      if (m["annotations"]["org.opencontainers.image.ref.name"] == "busybox") return m["digest"];
    }
    return "";
  }
  nlohmann::json Manifest() const { return ReadJson(BlobPath(ManifestDigest())); }
  std::vector<std::string> LayerDigests() const {
    // A named copy: a range-for over a member of a temporary would dangle (before C++23).
    nlohmann::json manifest = Manifest();
    std::vector<std::string> out;
    for (const auto& layer : manifest["layers"]) out.push_back(layer["digest"]);
    return out;
  }
  // The uncompressed layer digests (config rootfs.diff_ids): a docker-archive's layer blobs.
  std::vector<std::string> DiffIds() const {
    nlohmann::json manifest = Manifest();
    nlohmann::json config = ReadJson(BlobPath(manifest["config"]["digest"]));
    std::vector<std::string> out;
    for (const auto& diff_id : config["rootfs"]["diff_ids"]) out.push_back(diff_id);
    return out;
  }
  std::vector<std::string> OciBlobDigests() const {
    std::vector<std::string> out = LayerDigests();
    out.push_back(ManifestDigest());
    out.push_back(Manifest()["config"]["digest"]);
    return out;
  }
  int64_t OciBlobBytes() const {
    int64_t total = 0;
    for (const std::string& digest : OciBlobDigests()) {
      total += static_cast<int64_t>(std::filesystem::file_size(BlobPath(digest)));
    }
    return total;
  }
  // ctr's progress.Bytes: 1024-based, one decimal.
  static std::string CtrSize(int64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB"};
    double value = static_cast<double>(bytes);
    int unit = 0;
    while (value >= 1024 && unit < 3) {
      value /= 1024;
      ++unit;
    }
    return absl::StrFormat("%.1f %s", value, units[unit]);
  }

  static inline std::string* images_dir_ = nullptr;
  std::unique_ptr<TestDaemon> daemon_;
};

}  // namespace berth::testutil
