#pragma once

// A single-threaded epoll event loop: fd readiness callbacks, one-shot timers and closures
// posted from other threads. The shim runs everything on one loop (ttrpc, signalfd, pidfds,
// stdio copying); berthd may run one on a thread of its own.
//
// Everything except Post() and Stop() must be called on the loop thread (or before Run()).
// Callbacks may add and remove fds and timers, including their own.

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "plugins/base/unique_fd.h"

namespace berth::ttrpc {

class EventLoop {
 public:
  using FdCallback = std::function<void(uint32_t events)>;  // EPOLLIN | EPOLLOUT | ...
  using TimerId = uint64_t;

  static absl::StatusOr<std::unique_ptr<EventLoop>> Create();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Watches `fd` (not owned) for `events`. One registration per fd.
  absl::Status Add(int fd, uint32_t events, FdCallback callback);
  absl::Status Modify(int fd, uint32_t events);
  // Stops watching `fd`; a pending event for it in the current round is not delivered.
  void Remove(int fd);

  // Runs `callback` once after `delay`. Timer ids are never reused.
  TimerId AddTimer(absl::Duration delay, std::function<void()> callback);
  void CancelTimer(TimerId id);

  // Thread-safe: runs `fn` on the loop thread, in posting order.
  void Post(std::function<void()> fn);

  // Runs until Stop(). Returns an error only if epoll_wait fails.
  absl::Status Run();
  // One round: waits up to `max_wait` for events, timers and posted closures, then runs them.
  absl::Status RunOnce(absl::Duration max_wait);
  // Thread-safe: makes Run() return after the current round.
  void Stop();

  bool InLoopThread() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Watch {
    int fd;
    FdCallback callback;
  };

  EventLoop(UniqueFd epoll_fd, UniqueFd wake_fd);
  void Wake();
  void RunPosted();
  void RunTimers();
  int NextTimeoutMs(absl::Duration max_wait) const;

  UniqueFd epoll_fd_;
  UniqueFd wake_fd_;  // eventfd: Post() and Stop() from other threads.
  uint64_t next_token_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<Watch>> watches_;  // By epoll token.
  std::unordered_map<int, uint64_t> tokens_;                      // fd -> token.
  TimerId next_timer_ = 1;
  std::map<std::pair<Clock::time_point, TimerId>, std::function<void()>> timers_;
  std::unordered_map<TimerId, Clock::time_point> timer_deadlines_;

  mutable std::mutex mu_;
  std::vector<std::function<void()>> posted_;  // Guarded by mu_.
  bool stop_ = false;                          // Guarded by mu_.
  std::thread::id loop_thread_;                // Guarded by mu_; set while running.
};

}  // namespace berth::ttrpc
