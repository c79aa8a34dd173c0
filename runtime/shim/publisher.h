#pragma once

// Publishes task events to the daemon: containerd.services.events.ttrpc.v1.Events/Forward on
// $TTRPC_ADDRESS (what containerd 1.6 and berthd serve on "<socket>.ttrpc"), in order, on the
// shim's event loop. If that endpoint cannot be reached, falls back to the daemon's publish
// binary (`<publish-binary> --address A publish --topic T --namespace N`, Any on stdin), as
// containerd's shims did before TTRPC_ADDRESS existed.

#include <sys/types.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "google/protobuf/message.h"
#include "runtime/ttrpc/client.h"
#include "runtime/ttrpc/event_loop.h"

namespace berth::shim {

class Publisher {
 public:
  Publisher(ttrpc::EventLoop* loop, std::string ns, std::string ttrpc_address,
            std::string grpc_address, std::string publish_binary);
  ~Publisher();

  // The namespace events are published under (a spare shim learns it when adopted).
  void SetNamespace(std::string ns) { ns_ = std::move(ns); }

  // Connects to the daemon's ttrpc events service now, if not connected. Publish connects by
  // itself otherwise.
  void Connect();

  // What a spare shim does while it waits, so that its task's first event costs neither the
  // connection nor protobuf's lazy build of the task events' descriptors (GetTypeName needs
  // them): ~0.4 ms of Tasks.Create otherwise.
  void Prepare();

  // Queues `event` under `topic` ("/tasks/exit", ...). Never blocks.
  void Publish(const std::string& topic, const google::protobuf::Message& event);

  // Loop thread: calls `done` once everything queued has been sent (or failed), e.g. before
  // the shim exits.
  void Flush(std::function<void()> done);

  // A publish-binary child the shim's reaper must ignore.
  bool IsHelper(pid_t pid) const;
  void HelperExited(pid_t pid);

 private:
  struct Pending {
    std::string topic;
    std::string type_url;
    std::string value;
  };
  void SendNext();
  void SendWithBinary(const Pending& event);

  ttrpc::EventLoop* loop_;
  std::string ns_, ttrpc_address_, grpc_address_, publish_binary_;
  std::unique_ptr<ttrpc::Client> client_;
  std::deque<Pending> queue_;
  bool in_flight_ = false;
  std::vector<std::function<void()>> flushed_;
  std::vector<pid_t> helpers_;
};

}  // namespace berth::shim
