#include "services/events/events_service.h"

#include <deque>

#include "containerd/services/events/v1/events.grpc.pb.h"
#include "plugins/base/status_macros.h"
#include "plugins/types.h"
#include "services/common/any.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/common/list_filter.h"
#include "services/events/exchange.h"

namespace berth::services {
namespace {

namespace api = containerd::services::events::v1;
using events::Envelope;

// How many envelopes a subscriber may have waiting before its stream is ended.
constexpr size_t kMaxQueuedEvents = 8192;

// One Subscribe stream: queues what the exchange delivers and writes one envelope at a time.
class SubscribeReactor final : public grpc::ServerWriteReactor<Envelope>,
                               public events::Subscriber {
 public:
  SubscribeReactor(events::Exchange& exchange, std::function<bool(const Envelope&)> match) {
    StartSendInitialMetadata();  // tells the client the subscription is in place
    subscription_ = exchange.Subscribe(this, std::move(match));
  }

  void Deliver(const Envelope& envelope) override {
    absl::MutexLock lock(&mu_);
    if (finishing_) return;
    if (queue_.size() >= kMaxQueuedEvents) {
      FinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                "subscriber fell behind: events dropped"));
      return;
    }
    queue_.push_back(envelope);
    if (!writing_) {
      writing_ = true;
      StartWrite(&queue_.front());
    }
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    queue_.pop_front();
    if (!ok && !finishing_) {
      finishing_ = true;
      pending_finish_ = grpc::Status::CANCELLED;
    }
    if (!finishing_ && !queue_.empty()) {
      StartWrite(&queue_.front());
      return;
    }
    writing_ = false;
    if (pending_finish_) {
      Finish(*pending_finish_);
      pending_finish_.reset();
    }
  }

  void Close() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "berthd is shutting down"));
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    subscription_.reset();  // no Deliver after this returns
    delete this;
  }

 private:
  // Finishes the stream exactly once; after the write in flight if there is one.
  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finishing_) return;
    finishing_ = true;
    if (writing_) {
      pending_finish_ = std::move(status);
    } else {
      Finish(std::move(status));
    }
  }

  absl::Mutex mu_;
  std::deque<Envelope> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> pending_finish_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<events::Exchange::Subscription> subscription_;
};

filters::FieldAdaptor AdaptEnvelope(const Envelope& envelope) {
  return filters::AdaptFields({{"topic", envelope.topic()},
                               {"namespace", envelope.namespace_()}});
}

class EventsService final : public api::Events::WithCallbackMethod_Subscribe<api::Events::Service>,
                            public GrpcService {
 public:
  explicit EventsService(events::Exchange& exchange) : exchange_(exchange) {}
  grpc::Service* service() override { return this; }
  void BeginShutdown() override { exchange_.CloseSubscribers(); }

  grpc::Status Publish(grpc::ServerContext* context, const api::PublishRequest* request,
                       google::protobuf::Empty*) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      Envelope envelope;
      envelope.set_namespace_(ns);
      envelope.set_topic(request->topic());
      *envelope.mutable_event() = request->event();
      return exchange_.Forward(std::move(envelope));
    }());
  }

  grpc::Status Forward(grpc::ServerContext*, const api::ForwardRequest* request,
                       google::protobuf::Empty*) override {
    return ToGrpc(exchange_.Forward(request->envelope()));
  }

  grpc::ServerWriteReactor<Envelope>* Subscribe(grpc::CallbackServerContext*,
                                                const api::SubscribeRequest* request) override {
    absl::StatusOr<std::function<bool(const Envelope&)>> match =
        MakeListFilter<Envelope>(request->filters(), AdaptEnvelope);
    if (!match.ok()) {
      auto* reactor = new FailedReactor();
      reactor->Finish(ToGrpc(match.status()));
      return reactor;
    }
    return new SubscribeReactor(exchange_, *std::move(match));
  }

 private:
  class FailedReactor final : public grpc::ServerWriteReactor<Envelope> {
    void OnDone() override { delete this; }
  };
  events::Exchange& exchange_;
};

}  // namespace

void RegisterExchangePlugin(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kEventPlugin,
      .id = "exchange",
      .init = [](plugins::InitContext&) -> absl::StatusOr<plugins::Instance> {
        return plugins::Instance::Of(std::make_unique<events::Exchange>());
      }});
}

void RegisterEventsService(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kGrpcPlugin,
      .id = "events",
      .requires_types = {plugins::kEventPlugin},
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        ASSIGN_OR_RETURN(auto* exchange, context.Get<events::Exchange>(plugins::kEventPlugin));
        return plugins::Instance::Of<GrpcService>(std::make_unique<EventsService>(*exchange));
      }});
}

}  // namespace berth::services
