#include "runtime/shim/publisher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>

#include "containerd/events/task.pb.h"
#include "containerd/services/ttrpc/events/v1/events.pb.h"
#include "google/protobuf/any.pb.h"
#include "plugins/base/log.h"

namespace berth::shim {
namespace {

constexpr absl::Duration kForwardTimeout = absl::Seconds(5);

google::protobuf::Timestamp Now() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  google::protobuf::Timestamp out;
  out.set_seconds(ts.tv_sec);
  out.set_nanos(static_cast<int32_t>(ts.tv_nsec));
  return out;
}

}  // namespace

Publisher::Publisher(ttrpc::EventLoop* loop, std::string ns, std::string ttrpc_address,
                     std::string grpc_address, std::string publish_binary)
    : loop_(loop), ns_(std::move(ns)), ttrpc_address_(std::move(ttrpc_address)),
      grpc_address_(std::move(grpc_address)), publish_binary_(std::move(publish_binary)) {}

Publisher::~Publisher() = default;

void Publisher::Publish(const std::string& topic, const google::protobuf::Message& event) {
  queue_.push_back({topic, event.GetTypeName(), event.SerializeAsString()});
  SendNext();
}

void Publisher::Flush(std::function<void()> done) {
  if (queue_.empty() && !in_flight_) {
    done();
    return;
  }
  flushed_.push_back(std::move(done));
}

void Publisher::Connect() {
  if ((client_ != nullptr && !client_->closed()) || ttrpc_address_.empty()) return;
  client_.reset();
  absl::StatusOr<std::unique_ptr<ttrpc::Client>> client =
      ttrpc::Client::Connect(ttrpc_address_, loop_);
  if (client.ok()) {
    client_ = *std::move(client);
  } else {
    BERTH_LOG(WARN) << "events: " << client.status() << "; using the publish binary";
  }
}

void Publisher::Prepare() {
  Connect();
  (void)containerd::events::TaskCreate::descriptor();  // builds the whole events/task.proto
}

void Publisher::SendNext() {
  if (in_flight_) return;
  if (queue_.empty()) {
    std::vector<std::function<void()>> flushed;
    flushed.swap(flushed_);
    for (auto& fn : flushed) fn();
    return;
  }
  Connect();
  if (client_ == nullptr) {
    SendWithBinary(queue_.front());
    queue_.pop_front();
    SendNext();
    return;
  }
  containerd::services::events::ttrpc::v1::ForwardRequest request;
  auto* envelope = request.mutable_envelope();
  *envelope->mutable_timestamp() = Now();
  envelope->set_namespace_(ns_);
  envelope->set_topic(queue_.front().topic);
  envelope->mutable_event()->set_type_url(queue_.front().type_url);
  envelope->mutable_event()->set_value(queue_.front().value);
  in_flight_ = true;
  client_->CallAsync("containerd.services.events.ttrpc.v1.Events", "Forward",
                     request.SerializeAsString(),
                     {.metadata = ttrpc::Metadata::WithNamespace(ns_), .timeout = kForwardTimeout},
                     [this](absl::StatusOr<std::string> reply) {
                       in_flight_ = false;
                       if (!reply.ok()) {
                         BERTH_LOG(WARN) << "forward " << queue_.front().topic << ": "
                                         << reply.status();
                         if (absl::IsUnavailable(reply.status())) {
                           SendWithBinary(queue_.front());
                         }
                       }
                       queue_.pop_front();
                       SendNext();
                     });
}

void Publisher::SendWithBinary(const Pending& event) {
  if (publish_binary_.empty()) return;
  google::protobuf::Any any;
  any.set_type_url(event.type_url);
  any.set_value(event.value);
  std::string payload = any.SerializeAsString();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return;
  pid_t pid = fork();
  if (pid == 0) {
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_UNBLOCK, &all, nullptr);
    dup2(fds[0], 0);
    execl(publish_binary_.c_str(), publish_binary_.c_str(), "--address", grpc_address_.c_str(),
          "publish", "--topic", event.topic.c_str(), "--namespace", ns_.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[0]);
  if (pid > 0) {
    helpers_.push_back(pid);
    // Small payloads fit in the pipe buffer: this write does not block.
    (void)!write(fds[1], payload.data(), payload.size());
  }
  close(fds[1]);
}

bool Publisher::IsHelper(pid_t pid) const {
  return std::find(helpers_.begin(), helpers_.end(), pid) != helpers_.end();
}

void Publisher::HelperExited(pid_t pid) {
  helpers_.erase(std::remove(helpers_.begin(), helpers_.end(), pid), helpers_.end());
}

}  // namespace berth::shim
