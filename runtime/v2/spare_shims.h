#pragma once

// SpareShims: one berth-shim started ahead of need, so Tasks.Create does not wait for a shim
// to start (spawn, exec, its own start-up, the fork of its server and `start`'s exit: ~8 ms of
// a ~17 ms Tasks.Create here). Only for berth-shim and only for tasks without runtime options
// (options travel on `start`'s stdin, which a spare has already read).
//
// A spare is `berth-shim ... -namespace .spare -id spare-<daemon pid>-<n> -spare start`, run in
// its own bundle <state>/.spare/<id> (namespaces cannot begin with a dot, so no task's bundle
// is ever there and Restore skips it). Take() hands it the task with berth.shim.v1.Spare/Adopt
// (proto/berth/shim/v1/spare.proto): the shim writes `address` and `shim.pid` into the task's
// bundle, moves its cwd and its log there and publishes events under the task's namespace;
// the spare's own bundle is removed. A background thread then starts the next spare.
//
// Recycle() takes the shim of a deleted task that came from the pool back as the next spare,
// when none is ready: instead of exiting, the shim moves to a new spare bundle
// (berth.shim.v1.Spare/Recycle) and the next task starts without a shim being started at all
// (no spawn, exec, start-up or fork: the CPU time that, on two cores, back-to-back runs could
// not hide). A shim serves at most kMaxTasksPerShim tasks; one whose children are not all gone
// refuses and exits as usual. Containers never run in the shim's memory (their init is a
// forked child that execs, from a sealed copy of the binary), so nothing of one task reaches
// the next.
//
// A spare whose binary changed on disk since it started (an upgrade) is shut down instead of
// used. Spares left by a daemon that died are shut down at start-up (Shutdown over their
// address: a shim without a task exits) and their bundles removed; so are the live ones when
// the pool is destroyed.
//
// Thread safety: every method may be called from any thread but the loop's.

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "runtime/ttrpc/client.h"
#include "runtime/ttrpc/event_loop.h"
#include "runtime/v2/bundle.h"
#include "runtime/v2/shim_binary.h"
#include "runtime/v2/shim_task.h"

namespace berth::runtime_v2 {

class SpareShims {
 public:
  // Spares of `binary` (a resolved berth-shim path); bundles under state_dir/root_dir.
  SpareShims(std::string binary, std::string state_dir, std::string root_dir, ShimEnv env,
             ttrpc::EventLoop* loop);
  ~SpareShims();
  SpareShims(const SpareShims&) = delete;
  SpareShims& operator=(const SpareShims&) = delete;

  // The bundles' namespace directory: Restore must skip it.
  static constexpr char kNamespace[] = ".spare";

  // How many tasks one shim serves before it exits (bounds what a long-lived shim may gather).
  static constexpr int kMaxTasksPerShim = 100;

  // The answer to a berth.shim.v1.Spare/Adopt sent ahead (see Take).
  struct Adoption;
  struct Adopted {
    std::shared_ptr<ttrpc::Client> client;  // connected to the shim asked to serve the task
    SpareOrigin origin;
    std::shared_ptr<Adoption> adoption;
  };
  // The spare asked to serve `bundle`'s task, or nothing (no spare ready, another binary): the
  // caller starts a shim itself. The Adopt request is sent without waiting for its answer: the
  // caller sends Task.Create right behind it on the same connection, and the shim serves calls
  // in order, so one round trip less; Settle then tells whether the spare took the task.
  std::optional<Adopted> Take(const std::string& binary, const Bundle& bundle);
  // Waits for the answer to `adopted`'s Adopt. OK: the shim serves the task from now on.
  // Otherwise the spare is discarded (shut down, its bundle removed) and the caller starts a
  // shim of its own; a Create sent behind the failed Adopt failed as well and changed nothing
  // (the shim checks the task id first). Call once, before closing the client.
  absl::Status Settle(const Adopted& adopted);
  // Makes the shim of `task` (deleted, not yet shut down) the next spare. False: the pool did
  // not take it (no spare origin, another binary or version, a spare is ready, or the shim
  // refused); the caller shuts it down. True: the pool owns the shim and its connection.
  bool Recycle(ShimTask& task);
  // Task activity (a create or delete): the next spare starts only after a quiet period.
  // Starting a shim costs CPU time; started the moment a spare is taken, it competed with the
  // very Create that took it (Tasks.Create 14 ms instead of 10 on two cores), and started
  // right after, with the task's Start (2.9 -> 6.8 ms).
  void Quiet();

 private:
  struct Spare {
    Bundle bundle;
    std::shared_ptr<ttrpc::Client> client;
    std::string binary_version;  // BinaryVersion() when it started
    int tasks_served = 0;
  };
  void RemoveStale();
  void Refill();
  absl::StatusOr<Spare> StartOne();
  void Discard(Spare spare);

  const std::string binary_, state_dir_, root_dir_;
  const ShimEnv env_;
  ttrpc::EventLoop* loop_;
  std::atomic<int> next_id_{0};

  std::mutex mu_;
  std::condition_variable wanted_;
  std::optional<Spare> ready_;
  // Bundles of adopted spares: the refill thread deletes them, off the Create that took them.
  std::vector<Bundle> adopted_;
  absl::Time not_before_ = absl::InfinitePast();  // start no spare before
  bool failed_ = false;  // the last start failed: wait for the next Take
  bool stopping_ = false;
  std::thread refill_;
};

}  // namespace berth::runtime_v2
