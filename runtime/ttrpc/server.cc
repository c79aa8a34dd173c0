#include "runtime/ttrpc/server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "runtime/ttrpc/server_internal.h"
#include "runtime/ttrpc/socket.h"

namespace berth::ttrpc {

Server::Server(EventLoop* loop, ServerOptions options) : loop_(loop), options_(options) {}

Server::~Server() { Shutdown(); }

void Server::Register(absl::string_view service, absl::string_view method, Handler handler) {
  services_[std::string(service)][std::string(method)] = std::move(handler);
}

absl::Status Server::Listen(absl::string_view address) {
  ASSIGN_OR_RETURN(UniqueFd fd, ListenUnix(address));
  return Serve(std::move(fd));
}

absl::Status Server::Serve(UniqueFd listener) {
  RETURN_IF_ERROR(SetNonBlocking(listener.get()));
  int fd = listener.get();
  RETURN_IF_ERROR(loop_->Add(fd, EPOLLIN, [this, fd](uint32_t) { Accept(fd); }));
  listeners_.push_back(std::move(listener));
  return absl::OkStatus();
}

void Server::Shutdown() {
  for (UniqueFd& listener : listeners_) {
    loop_->Remove(listener.get());
  }
  listeners_.clear();
  while (!connections_.empty()) {
    std::shared_ptr<ServerConnection> connection = connections_.begin()->second;
    connection->Close();  // Removes itself from connections_.
    connections_.erase(connection.get());
  }
}

void Server::Accept(int listener) {
  for (int i = 0; i < 64; ++i) {
    UniqueFd fd(accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        BERTH_LOG(WARN) << "ttrpc: accept: " << ErrnoError(errno, "accept4");
      }
      return;
    }
    if (options_.require_same_user) {
      ucred cred{};
      socklen_t length = sizeof(cred);
      if (getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0 ||
          cred.uid != geteuid() || cred.gid != getegid()) {
        BERTH_LOG(WARN) << "ttrpc: refusing connection: peer credentials do not match";
        continue;
      }
    }
    auto connection = std::make_shared<ServerConnection>(this);
    if (absl::Status status = connection->Start(std::move(fd)); !status.ok()) {
      BERTH_LOG(WARN) << "ttrpc: serve connection: " << status;
      continue;
    }
    connections_[connection.get()] = std::move(connection);
  }
}

void Server::RemoveConnection(ServerConnection* connection) {
  auto it = connections_.find(connection);
  if (it == connections_.end()) {
    return;
  }
  // Destroy after the channel callback that called us has returned.
  std::shared_ptr<ServerConnection> keep = std::move(it->second);
  connections_.erase(it);
  loop_->Post([keep] {});
}

void Server::Dispatch(ServerConnection* connection, uint32_t stream_id, uint8_t flags,
                      Request request) {
  auto state = std::make_shared<CallState>();
  state->loop = loop_;
  // Only kFlagRemoteOpen leaves the client's side open for data messages.
  state->remote_closed = !(flags & kFlagRemoteOpen);
  if (auto it = connections_.find(connection); it != connections_.end()) {
    state->connection = it->second;
  }
  state->stream_id = stream_id;
  absl::Time deadline = absl::InfiniteFuture();
  if (request.timeout_nano > 0) {
    absl::Duration timeout = absl::Nanoseconds(request.timeout_nano);
    deadline = absl::Now() + timeout;
    std::weak_ptr<CallState> weak = state;
    state->timer = loop_->AddTimer(timeout, [weak] {
      std::shared_ptr<CallState> expired = weak.lock();
      if (!expired || expired->finished.exchange(true)) return;
      expired->timer = 0;
      std::function<void()> on_cancel = std::move(expired->on_cancel);
      DeliverReply(expired, Response{absl::DeadlineExceededError("context deadline exceeded"), {}});
      if (on_cancel) on_cancel();
    });
  }
  connection->Track(state);

  auto service = services_.find(request.service);
  const Handler* handler = nullptr;
  absl::Status missing;
  if (service == services_.end()) {
    missing = absl::UnimplementedError(absl::StrCat("service ", request.service));
  } else if (auto method = service->second.find(request.method); method == service->second.end()) {
    missing = absl::UnimplementedError(absl::StrCat("method ", request.method));
  } else {
    handler = &method->second;
  }
  ServerCall call(std::move(request), flags, deadline, std::move(state));
  if (handler == nullptr) {
    call.Fail(missing);
    return;
  }
  (*handler)(std::move(call));
}

}  // namespace berth::ttrpc
