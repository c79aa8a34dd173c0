#include "tests/ttrpc/test_service.h"

#include <future>

#include "gtest/gtest.h"

namespace berth::ttrpc::testing {

std::unique_ptr<TestServer> TestServer::Start(std::function<void(Server&)> setup,
                                              ServerOptions options, const std::string& name) {
  absl::StatusOr<ScopedTempDir> dir = ScopedTempDir::Create("/tmp", "ttrpc-test-");
  EXPECT_TRUE(dir.ok()) << dir.status();
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  EXPECT_TRUE(loop.ok()) << loop.status();
  if (!dir.ok() || !loop.ok()) return nullptr;
  std::unique_ptr<TestServer> test(new TestServer(*std::move(dir), *std::move(loop), name));
  test->server_ = std::make_unique<Server>(test->loop_.get(), options);
  setup(*test->server_);
  absl::Status listening = test->server_->Listen("unix://" + test->address_);
  EXPECT_TRUE(listening.ok()) << listening;
  test->thread_ = std::thread([loop = test->loop_.get()] { (void)loop->Run(); });
  return test;
}

TestServer::TestServer(ScopedTempDir dir, std::unique_ptr<EventLoop> loop, const std::string& name)
    : dir_(std::move(dir)), address_(dir_.path() + "/" + name), loop_(std::move(loop)) {}

TestServer::~TestServer() {
  RunOnLoop([this] { server_.reset(); });
  loop_->Stop();
  thread_.join();
  (void)loop_->RunOnce(absl::ZeroDuration());
}

void TestServer::RunOnLoop(std::function<void()> fn) {
  std::promise<void> done;
  loop_->Post([&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

}  // namespace berth::ttrpc::testing
