#include "services/front/front_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "grpcpp/create_channel_posix.h"
#include "grpcpp/server_posix.h"
#include "grpcpp/support/channel_arguments.h"
#include "plugins/base/status_util.h"
#include "plugins/base/log.h"

namespace berth::front {

absl::StatusOr<std::unique_ptr<FrontServer>> FrontServer::Start(UniqueFd listener,
                                                                grpc::Server& server,
                                                                FrontOptions options,
                                                                CallCounter* calls) {
  // Forwarded calls reach the gRPC server over a socket pair (HTTP/2 on both ends), not its
  // in-process channel: in gRPC 1.51 that one kept both sides of a call allocated (~10 KB) when
  // the service answered quickly, so every `ctr namespaces ls` grew berthd for good.
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) != 0) {
    return ErrnoError(errno, "socketpair for the gRPC server");
  }
  grpc::AddInsecureChannelFromFd(&server, pair[0]);  // the server owns it from here
  grpc::ChannelArguments args;
  // The limits are the front end's and the service's to apply; the channel between them has
  // none (its client side would otherwise refuse answers over gRPC's default 4 MiB).
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  // Large frames and windows between the two: a 1 MiB upload chunk crosses in one go.
  args.SetInt(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, 1 << 20);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 << 20);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomInsecureChannelFromFd("berthd", pair[1], args);  // owns pair[1]
  return std::unique_ptr<FrontServer>(
      new FrontServer(std::move(listener), std::move(channel), std::move(options), calls));
}

FrontServer::FrontServer(UniqueFd listener, std::shared_ptr<grpc::Channel> channel,
                         FrontOptions options, CallCounter* calls)
    : listener_(std::move(listener)),
      stop_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      channel_(std::move(channel)),
      stub_(std::make_unique<grpc::GenericStub>(channel_)) {
  for (services::FastMethod& method : options.fast_methods) {
    fast_.emplace(std::move(method.path), std::move(method.handler));
  }
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
    auto connection = std::make_shared<Connection>(UniqueFd(fd), connection_options_);
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    active_.insert(connection);
    waiting_.push_back(std::move(connection));
    // Each idle worker takes one waiting connection; start one for each that none will take.
    if (waiting_.size() > idle_) workers_.emplace_back([this] { Work(); });
  }
}

void FrontServer::Work() {
  for (;;) {
    std::shared_ptr<Connection> connection;
    {
      absl::MutexLock lock(&mu_);
      ++idle_;
      mu_.Await(absl::Condition(
          +[](FrontServer* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return !self->waiting_.empty() || self->closed_;
          },
          this));
      --idle_;
      if (waiting_.empty()) return;  // closed
      connection = std::move(waiting_.front());
      waiting_.pop_front();
    }
    connection->Serve();
    absl::MutexLock lock(&mu_);
    active_.erase(connection);
  }
}

void FrontServer::CloseConnections() {
  if (acceptor_.joinable()) {
    const uint64_t one = 1;
    (void)!write(stop_.get(), &one, sizeof one);
    acceptor_.join();
  }
  std::vector<std::shared_ptr<Connection>> active;
  std::vector<std::thread> workers;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    active.assign(active_.begin(), active_.end());
    workers.swap(workers_);
  }
  for (const auto& connection : active) connection->Close();
  for (std::thread& worker : workers) worker.join();
}

}  // namespace berth::front
