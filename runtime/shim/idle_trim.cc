#include "runtime/shim/idle_trim.h"

#include "plugins/base/resident_trim.h"

namespace berth::shim {
namespace {

constexpr absl::Duration kIdleDelay = absl::Milliseconds(500);

}  // namespace

IdleTrimmer::~IdleTrimmer() {
  if (timer_ != 0) loop_->CancelTimer(timer_);
}

void IdleTrimmer::Touch() {
  if (timer_ != 0) loop_->CancelTimer(timer_);
  timer_ = loop_->AddTimer(kIdleDelay, [this] {
    timer_ = 0;
    TrimCleanFileMappings(TrimScope::kExecutable);
  });
}

}  // namespace berth::shim
