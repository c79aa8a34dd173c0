#include "services/gc/scheduler.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "plugins/types.h"
#include "services/metadata/metadata.h"

namespace berth::gc {

Scheduler::Scheduler(metadata::Collector& collector, SchedulerOptions options)
    : collector_(collector), options_(options) {
  {
    absl::MutexLock lock(&mu_);
    next_ = absl::Now() + options_.startup_delay;
  }
  thread_ = std::thread([this] { Loop(); });
}

Scheduler::~Scheduler() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void Scheduler::Mutated(bool deletion) {
  absl::MutexLock lock(&mu_);
  if (deletion) {
    ++deletions_;
    if (deletions_ > options_.deletion_threshold || options_.deletion_threshold == 0) {
      deletion_due_ = std::min(deletion_due_, absl::Now() + options_.schedule_delay);
    }
  } else {
    ++mutations_;
  }
}

absl::Status Scheduler::ScheduleAndWait() {
  absl::MutexLock lock(&mu_);
  int64_t ticket = ++requested_;
  auto done = [this, ticket]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return finished_ >= ticket || stop_;
  };
  mu_.Await(absl::Condition(&done));
  if (finished_ < ticket) return absl::UnavailableError("garbage collector stopped");
  return last_;
}

bool Scheduler::DueLocked(absl::Time now) const {
  if (requested_ > started_) return true;
  if (options_.mutation_threshold > 0 && mutations_ >= options_.mutation_threshold) return true;
  if (deletion_due_ <= now) return true;
  return next_ <= now;
}

void Scheduler::Loop() {
  for (;;) {
    int64_t ticket;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return stop_ || DueLocked(absl::Now());
      };
      while (!stop_ && !DueLocked(absl::Now())) {
        absl::Time wake = std::min(next_, deletion_due_);
        mu_.AwaitWithDeadline(absl::Condition(&ready),
                              std::min(wake, absl::Now() + absl::Seconds(1)));
      }
      if (stop_) return;
      ticket = requested_;
      started_ = ticket;
      mutations_ = 0;
      deletions_ = 0;
      deletion_due_ = absl::InfiniteFuture();
      next_ = options_.schedule_interval > absl::ZeroDuration()
                  ? absl::Now() + options_.schedule_interval
                  : absl::InfiniteFuture();
    }
    absl::StatusOr<metadata::GcStats> stats = collector_.Collect();
    if (!stats.ok()) {
      BERTH_LOG(WARN) << "garbage collection failed: " << stats.status().message();
    } else if (stats->content + stats->blobs + stats->leases + stats->ingests +
                   stats->backend_snapshots > 0) {
      BERTH_LOG(INFO) << "garbage collected " << stats->content << " content records, "
                      << stats->blobs << " blobs, " << stats->leases << " leases, "
                      << stats->ingests << " ingests, " << stats->snapshots << " snapshots ("
                      << stats->backend_snapshots << " orphaned in a backend) in "
                      << absl::FormatDuration(stats->duration);
    }
    absl::MutexLock lock(&mu_);
    last_ = stats.status();
    finished_ = ticket;
  }
}

}  // namespace berth::gc

namespace berth::services {
namespace {

absl::Duration DurationOr(const toml::table& config, const char* key, absl::Duration fallback) {
  std::optional<std::string> text = config[key].value<std::string>();
  absl::Duration out;
  if (text && absl::ParseDuration(*text, &out)) return out;
  return fallback;
}

}  // namespace

void RegisterGcPlugin(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kGcPlugin,
      .id = "scheduler",
      .requires_types = {plugins::kMetadataPlugin},
      .default_config = "schedule_interval = \"1h\"\nmutation_threshold = 100\n"
                        "deletion_threshold = 0\nschedule_delay = \"0ms\"\n"
                        "startup_delay = \"100ms\"\n",
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        ASSIGN_OR_RETURN(auto* db, context.Get<metadata::Metadata>(plugins::kMetadataPlugin));
        const toml::table& config = context.config();
        gc::SchedulerOptions options;
        options.schedule_interval = DurationOr(config, "schedule_interval", absl::Hours(1));
        options.schedule_delay = DurationOr(config, "schedule_delay", absl::ZeroDuration());
        options.startup_delay = DurationOr(config, "startup_delay", absl::Milliseconds(100));
        options.mutation_threshold = config["mutation_threshold"].value_or(100);
        options.deletion_threshold = config["deletion_threshold"].value_or(0);
        auto plugin = std::make_unique<gc::GcPlugin>();
        plugin->collector = std::make_unique<metadata::Collector>(db->db(), db->content());
        plugin->scheduler = std::make_unique<gc::Scheduler>(*plugin->collector, options);
        gc::Scheduler* scheduler = plugin->scheduler.get();
        auto mutated = [scheduler](bool deletion) { scheduler->Mutated(deletion); };
        if (db->content() != nullptr) db->content()->SetMutationCallback(mutated);
        db->images().SetMutationCallback(mutated);
        return plugins::Instance::Of(std::move(plugin));
      }});
}

}  // namespace berth::services
