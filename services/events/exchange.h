#pragma once

// Exchange is the daemon's event broadcaster (plugin io.containerd.event.v1.exchange). The
// services publish what they change (/containers/create, /namespaces/delete, ...), shims'
// task events arrive through Forward, and Events.Subscribe streams them to clients.
//
// A publisher never waits for a subscriber: delivery only enqueues. Each subscriber decides
// what to do when it falls behind (the gRPC stream ends with ResourceExhausted once its queue
// is full, so a client learns it lost events instead of silently missing them). Nothing is
// persisted: events published while nobody listens are gone, as in containerd.
//
// Thread safety: all methods may be called from any thread. Deliver() is called with the
// exchange's reader lock held: it must not block and must not call back into the Exchange.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "containerd/services/events/v1/events.pb.h"
#include "google/protobuf/message.h"

namespace berth::events {

using Envelope = containerd::services::events::v1::Envelope;

class Subscriber {
 public:
  virtual ~Subscriber() = default;
  virtual void Deliver(const Envelope& envelope) = 0;
  // The exchange is going away (daemon shutdown): end the subscription. Same rules as Deliver.
  virtual void Close() = 0;
};

// containerd's topic rule: "/" followed by identifier components separated by "/".
absl::Status ValidateTopic(absl::string_view topic);

class Exchange {
 public:
  class Subscription;

  // Publishes `event` (packed with its bare type URL) in namespace `ns`.
  // InvalidArgument for a bad namespace or topic.
  absl::Status Publish(const std::string& ns, const std::string& topic,
                       const google::protobuf::Message& event);
  // Publish for callers whose own work already succeeded: a failure is logged, not returned.
  void Notify(const std::string& ns, const std::string& topic,
              const google::protobuf::Message& event);
  // Publishes a pre-built envelope (timestamp kept if set). InvalidArgument if it lacks a valid
  // namespace, topic or event.
  absl::Status Forward(Envelope envelope);

  // Registers `subscriber` for the envelopes `match` accepts, until the returned handle is
  // destroyed (after which Deliver is never called again).
  std::unique_ptr<Subscription> Subscribe(Subscriber* subscriber,
                                          std::function<bool(const Envelope&)> match);

  // Asks every subscriber to end (Subscriber::Close), e.g. before the server drains calls.
  void CloseSubscribers();

  size_t subscriber_count() const;

 private:
  struct Entry {
    Subscriber* subscriber;
    std::function<bool(const Envelope&)> match;
  };
  void Broadcast(const Envelope& envelope);
  void Unsubscribe(const Entry* entry);

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
};

class Exchange::Subscription {
 public:
  ~Subscription() { exchange_.Unsubscribe(entry_); }
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

 private:
  friend class Exchange;
  Subscription(Exchange& exchange, const Entry* entry) : exchange_(exchange), entry_(entry) {}
  Exchange& exchange_;
  const Entry* entry_;
};

}  // namespace berth::events
