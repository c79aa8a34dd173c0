#pragma once

// A ttrpc server running on its own loop thread, on a socket in a fresh temp dir. Tests use
// google.rpc.Status as a handy request/response message.

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "plugins/base/temp_dir.h"
#include "runtime/ttrpc/event_loop.h"
#include "runtime/ttrpc/server.h"

namespace berth::ttrpc::testing {

class TestServer {
 public:
  // `setup` registers handlers (before the loop starts). The socket is <temp dir>/<name>.
  static std::unique_ptr<TestServer> Start(std::function<void(Server&)> setup,
                                           ServerOptions options = {},
                                           const std::string& name = "ttrpc.sock");
  ~TestServer();

  const std::string& address() const { return address_; }
  const std::string& dir() const { return dir_.path(); }
  EventLoop* loop() { return loop_.get(); }
  Server& server() { return *server_; }
  // Runs `fn` on the loop thread and waits for it.
  void RunOnLoop(std::function<void()> fn);

 private:
  TestServer(ScopedTempDir dir, std::unique_ptr<EventLoop> loop, const std::string& name);
  ScopedTempDir dir_;
  std::string address_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

}  // namespace berth::ttrpc::testing
