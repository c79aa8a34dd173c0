#include "services/pull/early_unpack.h"

#include <chrono>
#include <cstring>

#include "plugins/base/status_macros.h"
#include "services/unpack/image_layers.h"

namespace berth::pull {
namespace {

// How often a waiting unpack looks at a download's state (a layer takes far longer).
constexpr auto kPollInterval = std::chrono::milliseconds(5);

bool Stored(const char* state) {
  return strcmp(state, "done") == 0 || strcmp(state, "exists") == 0;
}

}  // namespace

EarlyUnpack::EarlyUnpack(unpack::Unpacker& unpacker, metadata::ContentMetadata& content,
                         unpack::UnpackRequest request, std::string config_digest,
                         const JobState* config_state, std::vector<Layer> layers)
    : unpacker_(unpacker),
      content_(content),
      request_(std::move(request)),
      config_digest_(std::move(config_digest)),
      config_state_(config_state),
      layers_(std::move(layers)),
      thread_([this] { result_ = Run(); }) {}

EarlyUnpack::~EarlyUnpack() { (void)Finish(/*abandon=*/true); }

absl::Status EarlyUnpack::Finish(bool abandon) {
  if (abandon) stop_ = true;
  if (thread_.joinable()) thread_.join();
  return result_;
}

absl::Status EarlyUnpack::WaitStored(const JobState& state) const {
  while (!Stored(state.load())) {
    if (stop_ || strcmp(state.load(), "failed") == 0) {
      return absl::CancelledError("early unpack: the download did not complete");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  return absl::OkStatus();
}

absl::Status EarlyUnpack::Run() {
  RETURN_IF_ERROR(WaitStored(*config_state_));
  ASSIGN_OR_RETURN(std::vector<std::string> diff_ids,
                   unpack::ReadDiffIds(content_, request_.ns, config_digest_));
  std::vector<containerd::types::Descriptor> descs;
  for (const Layer& layer : layers_) descs.push_back(layer.desc);
  return unpacker_
      .ApplyLayers(request_, descs, diff_ids,
                   [this](size_t i) { return WaitStored(*layers_[i].state); })
      .status();
}

}  // namespace berth::pull
