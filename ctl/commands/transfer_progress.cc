#include "ctl/commands/transfer_progress.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ctl/commands/image_util.h"

namespace berth::ctl {
namespace {

std::string Short(const std::string& digest) {
  size_t colon = digest.find(':');
  return digest.substr(colon == std::string::npos ? 0 : colon + 1, 12);
}

std::string Bar(int64_t offset, int64_t total) {
  constexpr int kWidth = 30;
  int filled = total > 0 ? static_cast<int>(kWidth * std::min(offset, total) / total) : 0;
  return absl::StrCat("[", std::string(filled, '='), std::string(kWidth - filled, ' '), "]");
}

}  // namespace

void ProgressView::Update(const berth::services::pull::v1::Progress& progress) {
  if (quiet_) return;
  // The phase messages after the downloads (unpacking, done) carry no blobs: keep the last.
  auto blobs = last_.blobs();
  last_ = progress;
  if (progress.blobs_size() == 0) *last_.mutable_blobs() = blobs;
  auto now = std::chrono::steady_clock::now();
  for (const auto& blob : progress.blobs()) {
    first_seen_.try_emplace(blob.digest(), blob.offset(), now);
  }
  if (terminal_) {
    Redraw();
    return;
  }
  if (!progress.message().empty() && progress.message() != message_) {
    message_ = progress.message();
    std::cout << progress.name() << ": " << message_ << "\n";
  }
  for (const auto& blob : progress.blobs()) {
    std::string& printed = printed_state_[blob.digest()];
    if (printed == blob.state() || blob.state() == "waiting") continue;
    printed = blob.state();
    std::cout << Short(blob.digest()) << ": " << blob.state() << " " << HumanSize(blob.offset())
              << "/" << HumanSize(blob.total()) << "\n";
  }
  std::cout.flush();
}

void ProgressView::Redraw() {
  std::string out;
  if (lines_drawn_ > 0) absl::StrAppend(&out, "\x1b[", lines_drawn_, "A");
  int lines = 0;
  auto now = std::chrono::steady_clock::now();
  absl::StrAppend(&out, "\x1b[2K", last_.name(), ": ", last_.message(), "\n");
  ++lines;
  for (const auto& blob : last_.blobs()) {
    auto [start_offset, start] = first_seen_[blob.digest()];
    double seconds = std::chrono::duration<double>(now - start).count();
    std::string speed;
    if (blob.state() == "downloading" && seconds > 0.2) {
      speed = absl::StrCat(HumanSize(static_cast<int64_t>((blob.offset() - start_offset) / seconds)),
                           "/s");
    }
    absl::StrAppend(&out, "\x1b[2K", absl::StrFormat("%-12s %-11s %s %9s/%-9s %s",
                                                     Short(blob.digest()), blob.state(),
                                                     Bar(blob.offset(), blob.total()),
                                                     HumanSize(blob.offset()),
                                                     HumanSize(blob.total()), speed),
                    "\n");
    ++lines;
  }
  lines_drawn_ = lines;
  std::cout << out << std::flush;
}

void ProgressView::Finish() {
  if (!quiet_ && terminal_) Redraw();
}

}  // namespace berth::ctl
