#include "runtime/shim/pump.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/ttrpc/socket.h"

namespace berth::shim {
namespace {
constexpr size_t kMaxBuffered = 64 * 1024;
constexpr size_t kReadChunk = 16 * 1024;
}  // namespace

std::unique_ptr<Pump> Pump::Start(ttrpc::EventLoop* loop, UniqueFd src, UniqueFd dst,
                                  std::function<void()> done) {
  (void)ttrpc::SetNonBlocking(src.get());
  (void)ttrpc::SetNonBlocking(dst.get());
  std::unique_ptr<Pump> pump(new Pump(loop, std::move(src), std::move(dst), std::move(done)));
  Pump* raw = pump.get();
  if (!loop->Add(raw->src_.get(), EPOLLIN, [raw](uint32_t) { raw->OnReadable(); }).ok()) {
    raw->src_eof_ = true;
  }
  return pump;
}

Pump::Pump(ttrpc::EventLoop* loop, UniqueFd src, UniqueFd dst, std::function<void()> done)
    : loop_(loop), src_(std::move(src)), dst_(std::move(dst)), done_(std::move(done)) {}

Pump::~Pump() { Stop(); }

void Pump::Stop() {
  if (src_.valid()) loop_->Remove(src_.get());
  if (dst_.valid() && watching_dst_) loop_->Remove(dst_.get());
  watching_dst_ = false;
  src_.Reset();
  dst_.Reset();
}

void Pump::Drain() {
  if (!src_.valid()) return;
  OnReadable();
  if (!src_eof_) {
    src_eof_ = true;
    loop_->Remove(src_.get());
  }
  Flush();
}

void Pump::OnReadable() {
  while (buffer_.size() < kMaxBuffered) {
    char chunk[kReadChunk];
    ssize_t n = read(src_.get(), chunk, sizeof(chunk));
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    // EOF, or EIO from a pty master whose slave side is all closed.
    src_eof_ = true;
    loop_->Remove(src_.get());
    break;
  }
  Flush();
}

void Pump::Flush() {
  while (!buffer_.empty() && dst_.valid()) {
    ssize_t n = write(dst_.get(), buffer_.data(), buffer_.size());
    if (n > 0) {
      buffer_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    buffer_.clear();  // The reader went away: drop the output, keep draining the source.
    break;
  }
  bool full = buffer_.size() >= kMaxBuffered;
  if (!buffer_.empty() && !watching_dst_) {
    watching_dst_ = loop_->Add(dst_.get(), EPOLLOUT, [this](uint32_t) { Flush(); }).ok();
  } else if (buffer_.empty() && watching_dst_) {
    loop_->Remove(dst_.get());
    watching_dst_ = false;
  }
  if (!src_eof_ && src_.valid()) (void)loop_->Modify(src_.get(), full ? 0u : static_cast<uint32_t>(EPOLLIN));
  if (src_eof_ && buffer_.empty()) Finish();
}

void Pump::Finish() {
  Stop();
  if (std::function<void()> done = std::move(done_)) {
    done_ = nullptr;
    done();
  }
}

}  // namespace berth::shim
