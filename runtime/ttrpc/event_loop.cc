#include "runtime/ttrpc/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "plugins/base/status_util.h"

namespace berth::ttrpc {
namespace {
constexpr uint64_t kWakeToken = 0;
}

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create() {
  UniqueFd epoll_fd(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_fd) {
    return ErrnoError(errno, "epoll_create1");
  }
  UniqueFd wake_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd) {
    return ErrnoError(errno, "eventfd");
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = kWakeToken;
  if (epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, wake_fd.get(), &event) != 0) {
    return ErrnoError(errno, "epoll_ctl");
  }
  return std::unique_ptr<EventLoop>(new EventLoop(std::move(epoll_fd), std::move(wake_fd)));
}

EventLoop::EventLoop(UniqueFd epoll_fd, UniqueFd wake_fd)
    : epoll_fd_(std::move(epoll_fd)), wake_fd_(std::move(wake_fd)) {}

EventLoop::~EventLoop() = default;

absl::Status EventLoop::Add(int fd, uint32_t events, FdCallback callback) {
  if (tokens_.contains(fd)) {
    return absl::AlreadyExistsError("event loop: fd already registered");
  }
  uint64_t token = next_token_++;
  epoll_event event{};
  event.events = events;
  event.data.u64 = token;
  if (epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
    return ErrnoError(errno, "epoll_ctl add");
  }
  watches_[token] = std::make_shared<Watch>(Watch{fd, std::move(callback)});
  tokens_[fd] = token;
  return absl::OkStatus();
}

absl::Status EventLoop::Modify(int fd, uint32_t events) {
  auto it = tokens_.find(fd);
  if (it == tokens_.end()) {
    return absl::NotFoundError("event loop: fd not registered");
  }
  epoll_event event{};
  event.events = events;
  event.data.u64 = it->second;
  if (epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, fd, &event) != 0) {
    return ErrnoError(errno, "epoll_ctl mod");
  }
  return absl::OkStatus();
}

void EventLoop::Remove(int fd) {
  auto it = tokens_.find(fd);
  if (it == tokens_.end()) {
    return;
  }
  epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr);  // Fails harmlessly if fd is closed.
  watches_.erase(it->second);
  tokens_.erase(it);
}

EventLoop::TimerId EventLoop::AddTimer(absl::Duration delay, std::function<void()> callback) {
  TimerId id = next_timer_++;
  Clock::time_point deadline = Clock::now() + absl::ToChronoNanoseconds(delay);
  if (delay == absl::InfiniteDuration()) {
    deadline = Clock::time_point::max();
  }
  timers_.emplace(std::make_pair(deadline, id), std::move(callback));
  timer_deadlines_[id] = deadline;
  return id;
}

void EventLoop::CancelTimer(TimerId id) {
  auto it = timer_deadlines_.find(id);
  if (it == timer_deadlines_.end()) {
    return;
  }
  timers_.erase({it->second, id});
  timer_deadlines_.erase(it);
}

void EventLoop::Post(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    posted_.push_back(std::move(fn));
  }
  Wake();
}

void EventLoop::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  Wake();
}

bool EventLoop::InLoopThread() const {
  std::lock_guard lock(mu_);
  return loop_thread_ == std::this_thread::get_id();
}

void EventLoop::Wake() {
  uint64_t one = 1;
  ssize_t ignored = write(wake_fd_.get(), &one, sizeof(one));
  (void)ignored;  // EAGAIN means the counter is already non-zero: the loop will wake anyway.
}

absl::Status EventLoop::Run() {
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stop_) {
        stop_ = false;
        return absl::OkStatus();
      }
    }
    absl::Status status = RunOnce(absl::InfiniteDuration());
    if (!status.ok()) {
      return status;
    }
  }
}

int EventLoop::NextTimeoutMs(absl::Duration max_wait) const {
  int64_t ms = max_wait == absl::InfiniteDuration() ? -1 : absl::ToInt64Milliseconds(max_wait);
  if (!timers_.empty() && timers_.begin()->first.first != Clock::time_point::max()) {
    auto left = timers_.begin()->first.first - Clock::now();
    // Round up so a timer never fires early.
    int64_t timer_ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    timer_ms = std::max<int64_t>(timer_ms, 0);
    ms = ms < 0 ? timer_ms : std::min(ms, timer_ms);
  }
  return static_cast<int>(std::min<int64_t>(ms, 1 << 30));
}

absl::Status EventLoop::RunOnce(absl::Duration max_wait) {
  {
    std::lock_guard lock(mu_);
    loop_thread_ = std::this_thread::get_id();
    if (!posted_.empty() || stop_) {
      max_wait = absl::ZeroDuration();
    }
  }
  epoll_event events[32];
  int n = epoll_wait(epoll_fd_.get(), events, 32, NextTimeoutMs(max_wait));
  if (n < 0 && errno != EINTR) {
    return ErrnoError(errno, "epoll_wait");
  }
  for (int i = 0; i < n; ++i) {
    uint64_t token = events[i].data.u64;
    if (token == kWakeToken) {
      uint64_t count;
      ssize_t ignored = read(wake_fd_.get(), &count, sizeof(count));
      (void)ignored;
      continue;
    }
    auto it = watches_.find(token);
    if (it == watches_.end()) {
      continue;  // Removed by an earlier callback of this round.
    }
    std::shared_ptr<Watch> watch = it->second;  // Survives its own Remove() inside the callback.
    watch->callback(events[i].events);
  }
  RunTimers();
  RunPosted();
  return absl::OkStatus();
}

void EventLoop::RunTimers() {
  Clock::time_point now = Clock::now();
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto node = timers_.extract(timers_.begin());
    timer_deadlines_.erase(node.key().second);
    node.mapped()();
  }
}

void EventLoop::RunPosted() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(posted_);
  }
  for (auto& fn : batch) {
    fn();
  }
}

}  // namespace berth::ttrpc
