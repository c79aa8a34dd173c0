#pragma once

// The fixture of the berthctl container tests: a busybox image built once per build tree
// (make_run_image.sh on top of tests/integration_images/make_images.sh), a private berthd per
// test running real containers through containerd-shim-runc-v2, the image loaded into a
// namespace unique to the test process, and cleanup of every task, container, shim and
// berthctl directory the test left.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/shim/shim_env.h"
#include "tests/tasks/task_env.h"
#include "tests/testutil/process.h"
#include "tests/testutil/test_daemon.h"

namespace berth::ctl_test {

using testutil::CommandResult;

class CtlTasksTest : public ::testing::Test {
 protected:
  // ctest runs every test in its own process, so the images are built once into a directory
  // of the build tree named after the scripts' contents, and reused while they do not change.
  static void SetUpTestSuite() {
    if (!tasks_test::MissingPrerequisite().empty()) return;
    shim_test::PutShimOnPath();  // berthd started by the tests finds berth-shim
    for (const char* tool : {"/usr/bin/umoci", "/usr/bin/skopeo"}) {
      if (access(tool, X_OK) != 0) return;
    }
    size_t key = std::hash<std::string>()(ReadAll(BERTH_IMAGES_SCRIPT) +
                                          ReadAll(BERTH_RUN_IMAGE_SCRIPT));
    std::string cache = absl::StrCat(BERTH_DEFAULT_BUILD_DIR, "/tests/ctl_tasks/images-", key);
    if (access((cache + "/run-image.tar").c_str(), R_OK) == 0) {
      images_dir_ = new std::string(cache);
      return;
    }
    std::string pattern = cache + ".tmp-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) return;
    testutil::RunOptions options;
    options.timeout = std::chrono::seconds(180);
    auto result = testutil::RunCommand(
        {"sh", BERTH_RUN_IMAGE_SCRIPT, BERTH_IMAGES_SCRIPT, pattern}, options);
    if (!result.ok() || !result->ok()) {
      ADD_FAILURE() << (result.ok() ? result->Describe() : result.status().ToString());
      std::filesystem::remove_all(pattern);
      return;
    }
    // A concurrent test process may have won the race; then its copy is used.
    if (rename(pattern.c_str(), cache.c_str()) != 0) std::filesystem::remove_all(pattern);
    images_dir_ = new std::string(cache);
  }
  static void TearDownTestSuite() {
    delete images_dir_;
    images_dir_ = nullptr;
  }

  static std::string ReadAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  void SetUp() override {
    if (std::string why = tasks_test::MissingPrerequisite(); !why.empty()) GTEST_SKIP() << why;
    if (images_dir_ == nullptr) GTEST_SKIP() << "umoci/skopeo missing or image build failed";
    auto daemon = testutil::TestDaemon::Start();
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
    ns_ = tasks_test::UniqueNamespace("ctl-tasks");
    client_ = std::make_unique<tasks_test::TaskClient>(daemon_->NewChannel(), ns_);
    CommandResult load = Ctl({"image", "load", "-i", *images_dir_ + "/run-image.tar"});
    ASSERT_EQ(load.exit_code, 0) << load.Describe();
  }

  void TearDown() override {
    if (client_ != nullptr) client_->CleanupAll();
    if (daemon_ != nullptr) {
      (void)daemon_->Stop();
      tasks_test::KillShimsOf(daemon_->address());
    }
    for (const char* root : {"/run/berth/ctl", "/run/berth/fifo"}) {
      for (const std::string& entry : EntriesOfNamespace(root)) std::filesystem::remove_all(entry);
      std::filesystem::remove_all(absl::StrCat(root, "/", ns_));  // an older layout's
    }
  }

  static std::string Binary() {
    return testutil::BuildPath("ctl/berthctl");
  }

  // berthctl -a <daemon> -n <ns> args...
  std::vector<std::string> CtlArgv(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {Binary(), "-a", daemon_->address(), "-n", ns_};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  CommandResult Ctl(const std::vector<std::string>& args,
                    std::chrono::seconds timeout = std::chrono::seconds(60)) {
    testutil::RunOptions options;
    options.timeout = timeout;
    options.env = {"BERTH_ADDRESS=", "BERTH_NAMESPACE="};
    auto result = testutil::RunCommand(CtlArgv(args), options);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : CommandResult{};
  }

  CommandResult Ctr(std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/ctr", "-a", daemon_->address(), "-n", ns_});
    auto result = testutil::RunCommand(args, {.env = {"CONTAINERD_ADDRESS=",
                                                      "CONTAINERD_NAMESPACE="}});
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : CommandResult{};
  }

  // Lines of `ctr snapshots ls` (the image's committed layers plus any container snapshot).
  std::vector<std::string> Snapshots() {
    std::vector<std::string> lines =
        absl::StrSplit(Ctr({"snapshots", "ls"}).out, '\n', absl::SkipWhitespace());
    return lines;
  }

  // What berthctl has under one of its flat directories (state or fifo) for this namespace:
  // the entries named "<ns>@...".
  std::vector<std::string> EntriesOfNamespace(const std::string& root) const {
    std::vector<std::string> entries;
    if (!std::filesystem::exists(root)) return entries;
    for (const auto& entry : std::filesystem::directory_iterator(root)) {
      if (absl::StartsWith(entry.path().filename().string(), ns_ + "@")) {
        entries.push_back(entry.path().string());
      }
    }
    return entries;
  }
  size_t EntriesUnder(const std::string& root) const { return EntriesOfNamespace(root).size(); }

  inline static std::string* images_dir_ = nullptr;
  std::unique_ptr<testutil::TestDaemon> daemon_;
  std::unique_ptr<tasks_test::TaskClient> client_;
  std::string ns_;
};

}  // namespace berth::ctl_test
