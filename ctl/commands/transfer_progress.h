#pragma once

// Shows a Transfer stream's progress: on a terminal, one redrawn line per blob with a bar,
// bytes and speed; otherwise a plain line each time a blob changes state; nothing with -q.

#include <chrono>
#include <map>
#include <string>

#include "berth/services/pull/v1/transfer.pb.h"

namespace berth::ctl {

class ProgressView {
 public:
  ProgressView(bool quiet, bool terminal) : quiet_(quiet), terminal_(terminal) {}
  void Update(const berth::services::pull::v1::Progress& progress);
  // Final redraw (terminal mode) so the last state stays on screen.
  void Finish();

 private:
  void Redraw();

  bool quiet_, terminal_;
  berth::services::pull::v1::Progress last_;
  std::map<std::string, std::string> printed_state_;  // digest -> state printed (plain mode)
  std::map<std::string, std::pair<int64_t, std::chrono::steady_clock::time_point>> first_seen_;
  int lines_drawn_ = 0;
  std::string message_;
};

}  // namespace berth::ctl
