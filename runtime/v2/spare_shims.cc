#include "runtime/v2/spare_shims.h"

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "berth/shim/v1/spare.pb.h"
#include "containerd/runtime/task/v2/shim.pb.h"
#include "google/protobuf/empty.pb.h"
#include "plugins/base/file_util.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"

namespace berth::runtime_v2 {
namespace {

constexpr absl::Duration kCallTimeout = absl::Seconds(2);
// How long tasks must leave the pool alone before it starts a spare (see Quiet()).
constexpr absl::Duration kQuietPeriod = absl::Milliseconds(30);

// What identifies the file a spare was exec'd from: a changed binary means an upgrade.
std::string BinaryVersion(const std::string& binary) {
  struct stat st;
  if (stat(binary.c_str(), &st) != 0) return "";
  return absl::StrCat(st.st_dev, ":", st.st_ino, ":", st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec);
}

// Asks the shim of a spare's bundle to exit (a shim exits once Shutdown finds no container)
// and waits until it has; SIGKILL if it does not within the call timeout. A stopped daemon
// leaves no spare behind. Only a shim that answered Shutdown, or is still there but hung (the
// call timed out), is waited for or signalled: when its socket does not answer the shim is
// gone, and the pid it recorded may be another process's by now.
void ShutdownShim(ttrpc::Client* client, const Bundle& bundle) {
  if (client == nullptr) return;
  absl::StatusOr<std::string> pid_text = ReadFile(bundle.File("shim.pid"));
  int pid = 0;
  UniqueFd pidfd;
  if (pid_text.ok() && absl::SimpleAtoi(absl::StripAsciiWhitespace(*pid_text), &pid) && pid > 0) {
    pidfd = UniqueFd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  }
  containerd::task::v2::ShutdownRequest request;
  request.set_id(bundle.id());
  google::protobuf::Empty empty;
  absl::Status shutdown = client->Call("containerd.task.v2.Task", "Shutdown", request, &empty,
                                       {.timeout = kCallTimeout});
  client->Close();
  if (!pidfd.valid() || !(shutdown.ok() || absl::IsDeadlineExceeded(shutdown))) return;
  struct pollfd exited = {pidfd.get(), POLLIN, 0};
  if (poll(&exited, 1, static_cast<int>(absl::ToInt64Milliseconds(kCallTimeout))) == 1) return;
  BERTH_LOG(WARN) << "spare shim " << pid << " did not exit: killing it";
  (void)syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
}

}  // namespace

SpareShims::SpareShims(std::string binary, std::string state_dir, std::string root_dir,
                       ShimEnv env, ttrpc::EventLoop* loop)
    : binary_(std::move(binary)), state_dir_(std::move(state_dir)),
      root_dir_(std::move(root_dir)), env_(std::move(env)), loop_(loop) {
  RemoveStale();
  refill_ = std::thread([this] { Refill(); });
}

SpareShims::~SpareShims() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wanted_.notify_all();
  if (refill_.joinable()) refill_.join();
  if (ready_.has_value()) Discard(*std::move(ready_));
  for (Bundle& bundle : adopted_) (void)bundle.Delete();
}

void SpareShims::RemoveStale() {
  for (const std::string& id : ListDirs(JoinPath(state_dir_, kNamespace))) {
    Bundle bundle = Bundle::Load(state_dir_, root_dir_, kNamespace, id);
    absl::StatusOr<std::string> address = ReadFile(bundle.File("address"));
    absl::StatusOr<std::unique_ptr<ttrpc::Client>> client =
        address.ok() ? ttrpc::Client::Connect(absl::StripAsciiWhitespace(*address), loop_)
                     : absl::StatusOr<std::unique_ptr<ttrpc::Client>>(address.status());
    ShutdownShim(client.ok() ? client->get() : nullptr, bundle);
    (void)bundle.Delete();
  }
}

void SpareShims::Refill() {
  for (;;) {
    std::vector<Bundle> adopted;
    {
      std::unique_lock<std::mutex> lock(mu_);
      for (;;) {
        if (stopping_) return;
        if (!adopted_.empty()) break;
        absl::Time now = absl::Now();
        if (!ready_.has_value() && !failed_ && now >= not_before_) break;
        if (!ready_.has_value() && !failed_) {
          wanted_.wait_for(lock, absl::ToChronoNanoseconds(not_before_ - now));
        } else {
          wanted_.wait(lock);
        }
      }
      adopted.swap(adopted_);
    }
    if (!adopted.empty()) {
      for (Bundle& bundle : adopted) (void)bundle.Delete();
      continue;  // and look again whether it is time for a spare
    }
    absl::StatusOr<Spare> spare = StartOne();
    if (!spare.ok()) {
      // The next Take asks again; until then tasks start their own shims.
      BERTH_LOG(WARN) << "cannot start a spare shim: " << spare.status();
      std::lock_guard<std::mutex> lock(mu_);
      failed_ = true;
      continue;
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_ || ready_.has_value()) {
      lock.unlock();
      Discard(*std::move(spare));
      continue;
    }
    ready_ = *std::move(spare);
  }
}

absl::StatusOr<SpareShims::Spare> SpareShims::StartOne() {
  std::string id = absl::StrCat("spare-", getpid(), "-", next_id_++);
  ASSIGN_OR_RETURN(Bundle bundle, Bundle::Create(state_dir_, root_dir_, kNamespace, id, "{}"));
  std::string version = BinaryVersion(binary_);
  // No log FIFO in a spare's bundle: the shim logs to /dev/null until it is adopted.
  absl::StatusOr<std::string> address = StartShim(binary_, bundle, env_, "", /*spare=*/true);
  absl::StatusOr<std::unique_ptr<ttrpc::Client>> client =
      address.ok() ? ttrpc::Client::Connect(*address, loop_)
                   : absl::StatusOr<std::unique_ptr<ttrpc::Client>>(address.status());
  if (!client.ok()) {
    // Started but unreachable: cleaned up as any dead shim is.
    if (address.ok()) (void)DeleteShim(binary_, bundle, env_);
    (void)bundle.Delete();
    return client.status();
  }
  return Spare{std::move(bundle), *std::move(client), std::move(version)};
}

void SpareShims::Discard(Spare spare) {
  ShutdownShim(spare.client.get(), spare.bundle);
  (void)spare.bundle.Delete();
}

void SpareShims::Quiet() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    not_before_ = absl::Now() + kQuietPeriod;
  }
  wanted_.notify_one();
}

struct SpareShims::Adoption {
  Spare spare;  // handed back to the pool's bookkeeping by Settle
  std::shared_ptr<ttrpc::PendingCall> answer;
};

std::optional<SpareShims::Adopted> SpareShims::Take(const std::string& binary,
                                                    const Bundle& bundle) {
  if (binary != binary_) return std::nullopt;
  std::optional<Spare> spare;
  {
    std::lock_guard<std::mutex> lock(mu_);
    spare.swap(ready_);
    failed_ = false;  // try again once things are quiet
    not_before_ = absl::Now() + kQuietPeriod;
  }
  wanted_.notify_one();
  if (!spare.has_value()) return std::nullopt;
  if (spare->binary_version != BinaryVersion(binary_)) {
    Discard(*std::move(spare));  // upgraded since: the next spare runs the new binary
    return std::nullopt;
  }
  berth::shim::v1::AdoptRequest request;
  request.set_namespace_(bundle.ns());
  request.set_id(bundle.id());
  request.set_bundle(bundle.path());
  Adopted adopted{spare->client, {spare->binary_version, spare->tasks_served + 1}, nullptr};
  std::shared_ptr<ttrpc::PendingCall> answer = adopted.client->Send(
      "berth.shim.v1.Spare", "Adopt", request.SerializeAsString(),
      {.metadata = ttrpc::Metadata::WithNamespace(bundle.ns()), .timeout = kCallTimeout});
  adopted.adoption = std::make_shared<Adoption>(Adoption{*std::move(spare), std::move(answer)});
  return adopted;
}

absl::Status SpareShims::Settle(const Adopted& adopted) {
  Adoption& adoption = *adopted.adoption;
  absl::Status status = adoption.answer->Wait().status();  // bounded by the call's timeout
  if (!status.ok()) {
    BERTH_LOG(WARN) << "spare shim " << adoption.spare.bundle.id() << " not adopted: " << status;
    Discard(std::move(adoption.spare));
    return status;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    adopted_.push_back(std::move(adoption.spare.bundle));
  }
  wanted_.notify_one();
  return absl::OkStatus();
}

bool SpareShims::Recycle(ShimTask& task) {
  const std::optional<SpareOrigin>& origin = task.spare_origin();
  if (!origin.has_value() || task.binary() != binary_ ||
      origin->tasks_served >= kMaxTasksPerShim) {
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || ready_.has_value()) return false;
  }
  if (origin->binary_version != BinaryVersion(binary_)) return false;  // upgraded since
  std::string id = absl::StrCat("spare-", getpid(), "-", next_id_++);
  absl::StatusOr<Bundle> bundle = Bundle::Create(state_dir_, root_dir_, kNamespace, id, "{}");
  if (!bundle.ok()) return false;
  berth::shim::v1::RecycleRequest request;
  request.set_id(id);
  request.set_bundle(bundle->path());
  google::protobuf::Empty empty;
  if (absl::Status recycled =
          task.CallService("berth.shim.v1.Spare", "Recycle", request, &empty, kCallTimeout);
      !recycled.ok()) {
    BERTH_LOG(DEBUG) << "shim of " << task.ns() << "/" << task.id() << " not recycled: "
                     << recycled;
    (void)bundle->Delete();
    return false;
  }
  Spare spare{*std::move(bundle), task.ReleaseClient(), origin->binary_version,
              origin->tasks_served};
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_ && !ready_.has_value()) {
      ready_ = std::move(spare);
      return true;
    }
  }
  Discard(std::move(spare));  // a spare was started meanwhile
  return true;
}

}  // namespace berth::runtime_v2
