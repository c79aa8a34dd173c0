#pragma once

// EarlyUnpack: unpacks a pull's layers while the download workers are still fetching, each
// layer as soon as its blob is stored and its parent applied (containerd 1.6 unpacks only
// after the whole image is fetched). Used when a pull resolves to a single manifest; a
// thread waits for the config (for the diff ids), then for each layer in order. Its result
// is only a head start: the pull's final Unpack of the stored image reuses every layer it
// committed (and redoes, reporting the real error, anything it could not), then labels the
// config for the collector. The layers' snapshots join the pull's lease.

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "containerd/types/descriptor.pb.h"
#include "services/metadata/content.h"
#include "services/unpack/unpacker.h"

namespace berth::pull {

class EarlyUnpack {
 public:
  // A download job's state as the workers set it: "waiting", "downloading", then "done",
  // "exists" or "failed". Must outlive this object.
  using JobState = std::atomic<const char*>;
  struct Layer {
    containerd::types::Descriptor desc;
    const JobState* state;
  };

  // Starts the thread. request.lease must be set.
  EarlyUnpack(unpack::Unpacker& unpacker, metadata::ContentMetadata& content,
              unpack::UnpackRequest request, std::string config_digest,
              const JobState* config_state, std::vector<Layer> layers);
  // Stops and joins.
  ~EarlyUnpack();
  EarlyUnpack(const EarlyUnpack&) = delete;
  EarlyUnpack& operator=(const EarlyUnpack&) = delete;

  // Joins the thread (telling it to give up first when `abandon`) and returns its result.
  absl::Status Finish(bool abandon);

 private:
  absl::Status Run();
  absl::Status WaitStored(const JobState& state) const;

  unpack::Unpacker& unpacker_;
  metadata::ContentMetadata& content_;
  const unpack::UnpackRequest request_;
  const std::string config_digest_;
  const JobState* config_state_;
  const std::vector<Layer> layers_;
  std::atomic<bool> stop_{false};
  absl::Status result_;
  std::thread thread_;
};

}  // namespace berth::pull
