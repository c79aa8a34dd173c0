#include "services/events/exchange.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "plugins/base/identifiers.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "services/common/any.h"

namespace berth::events {
namespace {

absl::Status BadTopic(absl::string_view topic, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("envelope topic \"", topic, "\": ", why, ": invalid argument"));
}

}  // namespace

absl::Status ValidateTopic(absl::string_view topic) {
  if (topic.empty()) return BadTopic(topic, "must not be empty");
  if (topic[0] != '/') return BadTopic(topic, "must start with '/'");
  if (topic.size() == 1) return BadTopic(topic, "must have at least one component");
  for (absl::string_view component : absl::StrSplit(topic.substr(1), '/')) {
    absl::Status status = ValidateIdentifier(component);
    if (!status.ok()) {
      return BadTopic(topic, absl::StrCat("failed validation on component \"", component, "\""));
    }
  }
  return absl::OkStatus();
}

absl::Status Exchange::Publish(const std::string& ns, const std::string& topic,
                               const google::protobuf::Message& event) {
  Envelope envelope;
  *envelope.mutable_timestamp() = services::Now();
  envelope.set_namespace_(ns);
  envelope.set_topic(topic);
  *envelope.mutable_event() = services::PackAny(event);
  return Forward(std::move(envelope));
}

void Exchange::Notify(const std::string& ns, const std::string& topic,
                      const google::protobuf::Message& event) {
  absl::Status status = Publish(ns, topic, event);
  if (!status.ok()) BERTH_LOG(WARN) << "publish " << topic << ": " << status;
}

absl::Status Exchange::Forward(Envelope envelope) {
  RETURN_IF_ERROR(Annotate(ValidateIdentifier(envelope.namespace_()), "envelope namespace"));
  RETURN_IF_ERROR(ValidateTopic(envelope.topic()));
  if (!envelope.has_event() || envelope.event().type_url().empty()) {
    return absl::InvalidArgumentError("envelope must carry an event: invalid argument");
  }
  if (!envelope.has_timestamp()) *envelope.mutable_timestamp() = services::Now();
  Broadcast(envelope);
  return absl::OkStatus();
}

void Exchange::Broadcast(const Envelope& envelope) {
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& entry : entries_) {
    if (!entry->match || entry->match(envelope)) entry->subscriber->Deliver(envelope);
  }
}

std::unique_ptr<Exchange::Subscription> Exchange::Subscribe(
    Subscriber* subscriber, std::function<bool(const Envelope&)> match) {
  auto entry = std::make_unique<Entry>(Entry{subscriber, std::move(match)});
  const Entry* handle = entry.get();
  absl::MutexLock lock(&mu_);
  entries_.push_back(std::move(entry));
  return std::unique_ptr<Subscription>(new Subscription(*this, handle));
}

void Exchange::Unsubscribe(const Entry* entry) {
  absl::MutexLock lock(&mu_);
  std::erase_if(entries_, [&](const auto& e) { return e.get() == entry; });
}

void Exchange::CloseSubscribers() {
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& entry : entries_) entry->subscriber->Close();
}

size_t Exchange::subscriber_count() const {
  absl::ReaderMutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace berth::events
