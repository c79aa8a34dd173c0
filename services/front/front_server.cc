#include "services/front/front_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "grpcpp/support/channel_arguments.h"
#include "plugins/base/log.h"

namespace berth::front {

FrontServer::FrontServer(UniqueFd listener, grpc::Server& server, FrontOptions options,
                         CallCounter* calls)
    : listener_(std::move(listener)), stop_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  for (services::FastMethod& method : options.fast_methods) {
    fast_.emplace(std::move(method.path), std::move(method.handler));
  }
  grpc::ChannelArguments args;
  // The limits are the front end's and the service's to apply; the channel between them has
  // none (its client side would otherwise refuse answers over gRPC's default 4 MiB).
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  channel_ = server.InProcessChannel(args);
  stub_ = std::make_unique<grpc::GenericStub>(channel_);
  connection_options_ = {.fast = &fast_,
                         .stub = stub_.get(),
                         .forwarded = &forwarded_,
                         .calls = calls,
                         .max_recv_message_size = options.max_recv_message_size,
                         .max_send_message_size = options.max_send_message_size};
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

FrontServer::~FrontServer() {
  CloseConnections();
  if (!WaitForwardedDone(absl::Seconds(5))) {
    BERTH_LOG(WARN) << "forwarded calls still running at exit";
  }
}

void FrontServer::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) {
      BERTH_LOG(ERROR) << "poll on the socket failed: " << strerror(errno);
      return;
    }
    if (fds[1].revents != 0) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // EAGAIN, or a client gone before we took it
    absl::MutexLock lock(&mu_);
    JoinFinished();
    if (closed_) {
      close(fd);
      return;
    }
    auto connection = std::make_shared<Connection>(UniqueFd(fd), connection_options_);
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::thread thread([connection, done] {
      connection->Serve();
      done->store(true);
    });
    served_.push_back({std::move(connection), std::move(thread), std::move(done)});
  }
}

void FrontServer::JoinFinished() {
  for (auto it = served_.begin(); it != served_.end();) {
    if (!it->done->load()) {
      ++it;
      continue;
    }
    it->thread.join();
    it = served_.erase(it);
  }
}

void FrontServer::CloseConnections() {
  if (acceptor_.joinable()) {
    const uint64_t one = 1;
    (void)!write(stop_.get(), &one, sizeof one);
    acceptor_.join();
  }
  std::list<Served> served;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    served.swap(served_);
  }
  for (Served& each : served) each.connection->Close();
  for (Served& each : served) each.thread.join();
}

}  // namespace berth::front
