#include "services/pull/puller.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/cleanup/cleanup.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "services/archive/oci.h"
#include "services/distribution/reference.h"
#include "services/distribution/registry_client.h"
#include "services/pull/blob_store.h"
#include "services/pull/early_unpack.h"
#include "services/pull/pull_plan.h"

namespace berth::pull {
namespace {

using distribution::Descriptor;

// One blob's download as the workers and the reporting thread share it.
struct BlobJob {
  Descriptor desc;
  std::atomic<int64_t> offset{0};
  std::atomic<const char*> state{"waiting"};
};

content::Labels SourceLabel(const distribution::Reference& ref) {
  return {{absl::StrCat("containerd.io/distribution.source.", ref.domain), ref.path}};
}

containerd::types::Descriptor ToProto(const Descriptor& desc) {
  containerd::types::Descriptor out;
  out.set_media_type(desc.media_type);
  out.set_digest(desc.digest);
  out.set_size(desc.size);
  return out;
}

void FillBlobs(const std::vector<std::unique_ptr<BlobJob>>& jobs, api::Progress& progress) {
  progress.clear_blobs();
  for (const auto& job : jobs) {
    api::BlobProgress* blob = progress.add_blobs();
    blob->set_digest(job->desc.digest);
    blob->set_media_type(job->desc.media_type);
    blob->set_offset(job->offset.load());
    blob->set_total(job->desc.size);
    blob->set_state(job->state.load());
  }
}

// Downloads every job with `concurrency` workers, reporting from this thread.
absl::Status DownloadAll(const LeaseScope& scope, distribution::RegistryClient& client,
                         const content::Labels& labels,
                         std::vector<std::unique_ptr<BlobJob>>& jobs, int concurrency,
                         api::Progress& progress, const ReportFn& report,
                         const CancelledFn& cancelled) {
  std::mutex mu;
  std::condition_variable cv;
  absl::Status first_error;
  size_t finished = 0;
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  auto work = [&] {
    for (size_t i; !stop && (i = next++) < jobs.size();) {
      BlobJob& job = *jobs[i];
      job.state = "downloading";
      absl::StatusOr<FetchOutcome> outcome =
          FetchBlobInto(scope, client, job.desc, labels, job.offset, stop);
      job.state = !outcome.ok() ? "failed"
                  : *outcome == FetchOutcome::kExists ? "exists" : "done";
      std::lock_guard<std::mutex> lock(mu);
      if (!outcome.ok() && first_error.ok()) {
        first_error = outcome.status();
        stop = true;
      }
      ++finished;
      cv.notify_all();
    }
  };
  int workers = std::max(1, std::min<int>(concurrency, static_cast<int>(jobs.size())));
  std::vector<std::thread> threads;
  for (int i = 0; i < workers; ++i) threads.emplace_back(work);
  {
    std::unique_lock<std::mutex> lock(mu);
    while (finished < jobs.size() && first_error.ok()) {
      cv.wait_for(lock, std::chrono::milliseconds(200));
      if (cancelled() && !stop) {
        first_error = absl::CancelledError("pull cancelled by the client");
        stop = true;
      }
      FillBlobs(jobs, progress);
      lock.unlock();
      report(progress);
      lock.lock();
    }
  }
  stop = stop || !first_error.ok();
  for (auto& t : threads) t.join();
  FillBlobs(jobs, progress);
  return first_error;
}

// Stores the manifests (labelled with their config and layers) and the index (its chosen
// manifests), after the blobs they reference.
absl::Status StoreManifests(const LeaseScope& scope, const PullPlan& plan,
                            const content::Labels& source) {
  for (const ManifestPlan& m : plan.manifests) {
    content::Labels labels = source;
    labels[absl::StrCat(metadata::kGcRefContentPrefix, ".config")] = m.config.digest;
    for (size_t i = 0; i < m.layers.size(); ++i) {
      labels[absl::StrCat(metadata::kGcRefContentPrefix, ".l.", i)] = m.layers[i].digest;
    }
    RETURN_IF_ERROR(StoreBytes(scope, m.desc.digest, m.bytes, labels));
  }
  if (plan.top_bytes.empty()) return absl::OkStatus();
  content::Labels labels = source;
  for (const ManifestPlan& m : plan.manifests) {
    labels[absl::StrCat(metadata::kGcRefContentPrefix, ".m.", m.index_position)] = m.desc.digest;
  }
  return StoreBytes(scope, plan.top.digest, plan.top_bytes, labels);
}

// The early unpack of a single-manifest pull, or null (not asked, or several manifests).
std::unique_ptr<EarlyUnpack> StartEarlyUnpack(const PullOptions& options, const std::string& ns,
                                              const std::string& lease, const PullPlan& plan,
                                              const std::vector<std::unique_ptr<BlobJob>>& jobs,
                                              metadata::ContentMetadata& content) {
  if (options.early_unpacker == nullptr || plan.manifests.size() != 1) return nullptr;
  const ManifestPlan& manifest = plan.manifests[0];
  auto state_of = [&](const std::string& digest) -> const EarlyUnpack::JobState* {
    for (const auto& job : jobs) {
      if (job->desc.digest == digest) return &job->state;
    }
    return nullptr;
  };
  const EarlyUnpack::JobState* config_state = state_of(manifest.config.digest);
  std::vector<EarlyUnpack::Layer> layers;
  for (const Descriptor& layer : manifest.layers) {
    const EarlyUnpack::JobState* state = state_of(layer.digest);
    if (state == nullptr) return nullptr;
    layers.push_back({ToProto(layer), state});
  }
  if (config_state == nullptr || layers.empty()) return nullptr;
  unpack::UnpackRequest request;
  request.ns = ns;
  request.snapshotter = options.snapshotter;
  request.lease = lease;
  return std::make_unique<EarlyUnpack>(*options.early_unpacker, content, std::move(request),
                                       manifest.config.digest, config_state, std::move(layers));
}

}  // namespace

distribution::Authorizer::Lookup CredentialLookup(
    const std::map<std::string, distribution::Credentials>& client,
    const distribution::RegistryConfig& config, const std::string& domain) {
  return [client, &config, domain](const std::string& host)
             -> std::optional<distribution::Credentials> {
    for (const std::string& key : {host, domain}) {
      if (auto it = client.find(key); it != client.end()) return it->second;
    }
    for (const std::string& key : {host, domain}) {
      const distribution::HostConfig* hc = config.Find(key);
      if (hc != nullptr && hc->auth) return hc->auth;
    }
    return std::nullopt;
  };
}

absl::StatusOr<std::pair<metadata::Image, bool>> Puller::Pull(const std::string& ns,
                                                              const PullOptions& options,
                                                              const ReportFn& report,
                                                              const CancelledFn& cancelled,
                                                              const AfterFetchFn& after_fetch) {
  const std::string name = archive::NormalizeReference(options.reference);
  ASSIGN_OR_RETURN(distribution::Reference ref, distribution::ParseNormalizedReference(name));
  ASSIGN_OR_RETURN(std::vector<distribution::Endpoint> endpoints,
                   registry_.Endpoints(ref.domain, options.plain_http));
  distribution::Authorizer auth(CredentialLookup(options.credentials, registry_, ref.domain));
  distribution::RegistryClient client(std::move(endpoints), ref.path, auth);

  api::Progress progress;
  progress.set_name(name);
  progress.set_message("resolving");
  report(progress);
  ASSIGN_OR_RETURN(Descriptor top, client.Resolve(ref.Object()));
  *progress.mutable_target() = ToProto(top);
  std::vector<Platform> platforms = options.platforms;
  if (platforms.empty()) platforms.push_back(HostPlatform());
  ASSIGN_OR_RETURN(PullPlan plan, PlanPull(client, top, platforms, options.all_platforms, name));

  metadata::ContentMetadata* content = db_.content();
  if (content == nullptr) return absl::FailedPreconditionError("no content store loaded");
  ASSIGN_OR_RETURN(std::string lease, CreatePullLease(db_.leases(), ns, "pull"));
  absl::Cleanup release = [&] {
    (void)db_.leases().Delete(ns, lease);
    content->NotifyMutation(/*deletion=*/true);
  };
  LeaseScope scope{*content, db_.leases(), ns, lease};
  std::vector<std::unique_ptr<BlobJob>> jobs;
  for (const Descriptor& desc : plan.Blobs()) {
    jobs.push_back(std::make_unique<BlobJob>());
    jobs.back()->desc = desc;
  }
  progress.set_message("fetching");
  const content::Labels source = SourceLabel(ref);
  std::unique_ptr<EarlyUnpack> early = StartEarlyUnpack(options, ns, lease, plan, jobs, *content);
  absl::Status downloaded = DownloadAll(scope, client, source, jobs, options.concurrency,
                                        progress, report, cancelled);
  if (early != nullptr) {
    // A failure here is only a lost head start: the final unpack redoes it and reports.
    absl::Status unpacked = early->Finish(/*abandon=*/!downloaded.ok());
    if (!unpacked.ok() && downloaded.ok()) BERTH_LOG(INFO) << "pull " << name << ": " << unpacked;
  }
  RETURN_IF_ERROR(downloaded);
  RETURN_IF_ERROR(StoreManifests(scope, plan, source));

  metadata::Image image;
  image.set_name(name);
  *image.mutable_target() = ToProto(top);
  bool created = true;
  absl::StatusOr<metadata::Image> result = db_.images().Create(ns, image);
  if (absl::IsAlreadyExists(result.status())) {
    created = false;
    result = db_.images().Update(ns, image, {"target"});
  }
  if (!result.ok()) return result.status();
  progress.set_message("fetched");
  report(progress);
  if (after_fetch) RETURN_IF_ERROR(after_fetch(*result, lease));
  return std::make_pair(*std::move(result), created);
}

}  // namespace berth::pull
