#include "services/metadata/gc.h"

#include <deque>
#include <set>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "berth/metadata/v1/content.pb.h"
#include "plugins/base/log.h"
#include "plugins/base/status_macros.h"
#include "services/metadata/containers.h"
#include "services/metadata/images.h"
#include "services/metadata/leases.h"
#include "services/metadata/namespaces.h"
#include "services/metadata/records.h"
#include "services/metadata/schema.h"
#include "services/metadata/time_util.h"

namespace berth::metadata {

using Ingest = berth::metadata::v1::Ingest;
using Labels = google::protobuf::Map<std::string, std::string>;

// What mark found in one namespace (node ids: digests, refs, "<snapshotter>\0<key>").
struct Collector::Marked {
  absl::flat_hash_set<std::string> content, ingests, snapshots;  // reachable
  std::vector<std::string> all_content, expired_leases;
  std::vector<std::pair<std::string, std::string>> all_snapshots;
  std::vector<std::string> all_ingests;
};

namespace {

std::string SnapshotNode(absl::string_view snapshotter, absl::string_view key) {
  return Key(snapshotter, key);
}

// Calls on_content / on_snapshot for each reference label.
template <typename C, typename S>
void ForEachRef(const Labels& labels, C on_content, S on_snapshot) {
  for (const auto& [key, value] : labels) {
    if (absl::StartsWith(key, kGcRefContentPrefix)) {
      absl::string_view rest = absl::string_view(key).substr(strlen(kGcRefContentPrefix));
      if (rest.empty() || rest[0] == '.') on_content(value);
    } else if (absl::StartsWith(key, kGcRefSnapshotPrefix)) {
      absl::string_view rest = absl::string_view(key).substr(strlen(kGcRefSnapshotPrefix));
      absl::string_view snapshotter = rest.substr(0, rest.find('/'));
      if (!snapshotter.empty()) on_snapshot(snapshotter, value);
    }
  }
}

// The current referrers of content in `ns` (step 2 of the concurrency note in gc.h).
absl::StatusOr<absl::flat_hash_set<std::string>> CurrentContentRefs(Txn& txn, absl::string_view ns) {
  absl::flat_hash_set<std::string> refs;
  absl::Status error;
  auto parse = [&](absl::string_view key, absl::string_view value, auto& record) {
    if (record.ParseFromArray(value.data(), static_cast<int>(value.size()))) return true;
    error = CorruptRecord(key);
    return false;
  };
  RETURN_IF_ERROR(txn.Scan(KindPrefix(ns, kImagesKind), [&](auto key, auto value) {
    Image image;
    if (!parse(key, value, image)) return false;
    refs.insert(image.target().digest());
    return true;
  }));
  RETURN_IF_ERROR(txn.Scan(KindPrefix(ns, kContentKind), [&](auto key, auto value) {
    ContentInfo info;
    if (!parse(key, value, info)) return false;
    if (info.labels().contains(kGcRootLabel)) refs.insert(info.digest());
    ForEachRef(info.labels(), [&](const std::string& d) { refs.insert(d); }, [](auto, auto) {});
    return true;
  }));
  RETURN_IF_ERROR(txn.Scan(KindPrefix(ns, kIngestsKind), [&](auto key, auto value) {
    Ingest ingest;
    if (!parse(key, value, ingest)) return false;
    if (!ingest.expected().empty()) refs.insert(ingest.expected());
    return true;
  }));
  std::string resources = KindPrefix(ns, kLeaseResourcesKind);
  RETURN_IF_ERROR(txn.Scan(resources, [&](absl::string_view key, absl::string_view) {
    std::vector<absl::string_view> parts = absl::StrSplit(key.substr(resources.size()), '\0');
    if (parts.size() == 3 && parts[1] == "content") refs.insert(std::string(parts[2]));
    return true;
  }));
  RETURN_IF_ERROR(error);
  return refs;
}

}  // namespace

bool LeaseExpired(const Labels& labels, absl::Time now) {
  auto it = labels.find(kGcExpireLabel);
  if (it == labels.end()) return false;
  absl::Time expiry;
  if (!ParseRfc3339(it->second, &expiry)) return false;
  return expiry < now;
}

absl::StatusOr<GcStats> Collector::Collect() {
  absl::MutexLock lock(&mu_);
  absl::Time start = absl::Now();
  GcStats stats;
  std::vector<std::string> namespaces;
  RETURN_IF_ERROR(db_.View([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(namespaces, NamespaceNames(txn));
    return absl::OkStatus();
  }));
  for (const std::string& ns : namespaces) RETURN_IF_ERROR(CollectNamespace(ns, stats));
  RETURN_IF_ERROR(SweepBlobs(stats));
  if (snapshots_ != nullptr) {
    ASSIGN_OR_RETURN(stats.backend_snapshots, snapshots_->RemoveOrphanedBackends());
  }
  stats.duration = absl::Now() - start;
  return stats;
}

absl::Status Collector::CollectNamespace(const std::string& ns, GcStats& stats) {
  ASSIGN_OR_RETURN(Marked marked, Mark(ns));
  RETURN_IF_ERROR(SweepLeases(ns, marked, stats));
  RETURN_IF_ERROR(SweepIngests(ns, marked, stats));
  RETURN_IF_ERROR(SweepContent(ns, marked, stats));
  return SweepSnapshots(ns, marked, stats);
}

absl::StatusOr<Collector::Marked> Collector::Mark(const std::string& ns) {
  Marked marked;
  absl::Time now = absl::Now();
  RETURN_IF_ERROR(db_.View([&](Txn& txn) -> absl::Status {
    absl::flat_hash_map<std::string, Labels> content_labels;
    absl::flat_hash_map<std::string, std::string> ingest_expected;
    absl::flat_hash_map<std::string, SnapshotGcHook::Snapshot> snapshots;
    std::deque<std::pair<char, std::string>> work;  // 'c' content, 'i' ingest, 's' snapshot
    absl::Status error;
    auto parse = [&](absl::string_view key, absl::string_view value, auto& record) {
      if (record.ParseFromArray(value.data(), static_cast<int>(value.size()))) return true;
      error = CorruptRecord(key);
      return false;
    };
    RETURN_IF_ERROR(txn.Scan(KindPrefix(ns, kContentKind), [&](auto key, auto value) {
      ContentInfo info;
      if (!parse(key, value, info)) return false;
      marked.all_content.push_back(info.digest());
      if (info.labels().contains(kGcRootLabel)) work.emplace_back('c', info.digest());
      content_labels[info.digest()] = info.labels();
      return true;
    }));
    std::string ingest_prefix = KindPrefix(ns, kIngestsKind);
    RETURN_IF_ERROR(txn.Scan(ingest_prefix, [&](absl::string_view key, absl::string_view value) {
      Ingest ingest;
      if (!parse(key, value, ingest)) return false;
      std::string ref(key.substr(ingest_prefix.size()));
      ingest_expected[ref] = ingest.expected();
      marked.all_ingests.push_back(ref);
      if (ingest.has_expires_at() && FromTimestamp(ingest.expires_at()) > now) {
        work.emplace_back('i', ref);
      }
      return true;
    }));
    RETURN_IF_ERROR(txn.Scan(KindPrefix(ns, kImagesKind), [&](auto key, auto value) {
      Image image;
      if (!parse(key, value, image)) return false;
      work.emplace_back('c', image.target().digest());
      return true;
    }));
    RETURN_IF_ERROR(txn.Scan(KindPrefix(ns, kContainersKind), [&](auto key, auto value) {
      Container container;
      if (!parse(key, value, container)) return false;
      if (!container.snapshot_key().empty()) {
        work.emplace_back('s', SnapshotNode(container.snapshotter(), container.snapshot_key()));
      }
      return true;
    }));
    std::set<std::string> live_leases;
    std::string lease_prefix = KindPrefix(ns, kLeasesKind);
    RETURN_IF_ERROR(txn.Scan(lease_prefix, [&](absl::string_view key, absl::string_view value) {
      Lease lease;
      if (!parse(key, value, lease)) return false;
      if (LeaseExpired(lease.labels(), now)) {
        marked.expired_leases.push_back(lease.id());
      } else {
        live_leases.insert(lease.id());
      }
      return true;
    }));
    RETURN_IF_ERROR(error);
    std::string resources = KindPrefix(ns, kLeaseResourcesKind);
    RETURN_IF_ERROR(txn.Scan(resources, [&](absl::string_view key, absl::string_view) {
      std::vector<std::string> parts = absl::StrSplit(key.substr(resources.size()), '\0');
      if (parts.size() != 3 || !live_leases.contains(parts[0])) return true;
      if (parts[1] == "content") work.emplace_back('c', parts[2]);
      if (parts[1] == "ingests") work.emplace_back('i', parts[2]);
      if (absl::StartsWith(parts[1], "snapshots/")) {
        work.emplace_back('s', SnapshotNode(parts[1].substr(strlen("snapshots/")), parts[2]));
      }
      return true;
    }));
    if (snapshots_ != nullptr) {
      RETURN_IF_ERROR(snapshots_->Walk(txn, ns, [&](const SnapshotGcHook::Snapshot& s) {
        std::string node = SnapshotNode(s.snapshotter, s.key);
        marked.all_snapshots.emplace_back(s.snapshotter, s.key);
        if (s.labels.contains(kGcRootLabel)) work.emplace_back('s', node);
        snapshots[node] = s;
      }));
    }
    // Tri-colour marking with an explicit grey queue.
    auto refs_of = [&](const Labels& labels) {
      ForEachRef(labels, [&](const std::string& d) { work.emplace_back('c', d); },
                 [&](absl::string_view sn, const std::string& key) {
                   work.emplace_back('s', SnapshotNode(sn, key));
                 });
    };
    while (!work.empty()) {
      auto [type, id] = std::move(work.front());
      work.pop_front();
      if (type == 'c') {
        if (!marked.content.insert(id).second) continue;
        auto it = content_labels.find(id);
        if (it != content_labels.end()) refs_of(it->second);
      } else if (type == 'i') {
        if (!marked.ingests.insert(id).second) continue;
        auto it = ingest_expected.find(id);
        if (it != ingest_expected.end() && !it->second.empty()) work.emplace_back('c', it->second);
      } else {
        if (!marked.snapshots.insert(id).second) continue;
        auto it = snapshots.find(id);
        if (it == snapshots.end()) continue;
        if (!it->second.parent.empty()) {
          work.emplace_back('s', SnapshotNode(it->second.snapshotter, it->second.parent));
        }
        refs_of(it->second.labels);
      }
    }
    return absl::OkStatus();
  }));
  return marked;
}

absl::Status Collector::SweepLeases(const std::string& ns, const Marked& marked,
                                    GcStats& stats) {
  for (const std::string& id : marked.expired_leases) {
    RETURN_IF_ERROR(db_.Update([&](Txn& txn) -> absl::Status {
      Lease lease;
      ASSIGN_OR_RETURN(bool found, ReadRecord(txn, LeaseKey(ns, id), lease));
      if (!found || !LeaseExpired(lease.labels(), absl::Now())) return absl::OkStatus();
      std::vector<std::string> keys;
      RETURN_IF_ERROR(txn.Scan(LeaseResourcesPrefix(ns, id),
                               [&](absl::string_view key, absl::string_view) {
                                 keys.emplace_back(key);
                                 return true;
                               }));
      for (const std::string& key : keys) RETURN_IF_ERROR(txn.Delete(key));
      ++stats.leases;
      return txn.Delete(LeaseKey(ns, id));
    }));
  }
  return absl::OkStatus();
}

absl::Status Collector::SweepIngests(const std::string& ns, const Marked& marked,
                                     GcStats& stats) {
  for (const std::string& ref : marked.all_ingests) {
    if (marked.ingests.contains(ref)) continue;
    std::string backend_ref;
    RETURN_IF_ERROR(db_.Update([&](Txn& txn) -> absl::Status {
      backend_ref.clear();
      Ingest ingest;
      ASSIGN_OR_RETURN(bool found, ReadRecord(txn, IngestKey(ns, ref), ingest));
      if (!found || (ingest.has_expires_at() &&
                     FromTimestamp(ingest.expires_at()) > absl::Now())) {
        return absl::OkStatus();  // committed, aborted or reopened meanwhile
      }
      // Still held by a lease (attached after the mark)?
      bool leased = false;
      std::string suffix = Key("", "ingests", ref);
      RETURN_IF_ERROR(txn.Scan(KindPrefix(ns, kLeaseResourcesKind),
                               [&](absl::string_view key, absl::string_view) {
                                 leased = absl::EndsWith(key, suffix);
                                 return !leased;
                               }));
      if (leased) return absl::OkStatus();
      backend_ref = ingest.backend_ref();
      return txn.Delete(IngestKey(ns, ref));
    }));
    if (backend_ref.empty()) continue;
    ++stats.ingests;
    if (content_ != nullptr) (void)content_->backend().Abort(backend_ref);
  }
  return absl::OkStatus();
}

absl::Status Collector::SweepContent(const std::string& ns, const Marked& marked,
                                     GcStats& stats) {
  std::vector<std::string> candidates;
  for (const std::string& digest : marked.all_content) {
    if (!marked.content.contains(digest)) candidates.push_back(digest);
  }
  // Candidates referenced by other (not yet deleted) candidates wait for a later pass.
  for (int pass = 0; pass < 16 && !candidates.empty(); ++pass) {
    std::vector<std::string> kept;
    size_t before = candidates.size();
    for (size_t start = 0; start < candidates.size(); start += kSweepBatch) {
      size_t end = std::min(candidates.size(), start + kSweepBatch);
      int deleted = 0;
      std::vector<std::string> batch_kept;
      RETURN_IF_ERROR(db_.Update([&](Txn& txn) -> absl::Status {
        deleted = 0;
        batch_kept.clear();
        std::vector<std::string> present;
        for (size_t i = start; i < end; ++i) {  // lock first, then look at referrers
          ASSIGN_OR_RETURN(std::optional<std::string> record,
                           txn.Get(ContentKey(ns, candidates[i])));
          if (record) present.push_back(candidates[i]);
        }
        if (present.empty()) return absl::OkStatus();
        ASSIGN_OR_RETURN(auto refs, CurrentContentRefs(txn, ns));
        for (const std::string& digest : present) {
          if (refs.contains(digest)) {
            batch_kept.push_back(digest);
            continue;
          }
          RETURN_IF_ERROR(txn.Delete(ContentKey(ns, digest)));
          ++deleted;
        }
        return absl::OkStatus();
      }));
      stats.content += deleted;
      kept.insert(kept.end(), batch_kept.begin(), batch_kept.end());
    }
    candidates = std::move(kept);
    if (candidates.size() == before) break;  // nothing more can go (live or cyclic refs)
  }
  return absl::OkStatus();
}

absl::Status Collector::SweepSnapshots(const std::string& ns, const Marked& marked,
                                       GcStats& stats) {
  if (snapshots_ == nullptr) return absl::OkStatus();
  std::vector<std::pair<std::string, std::string>> pending;
  for (const auto& snapshot : marked.all_snapshots) {
    if (!marked.snapshots.contains(SnapshotNode(snapshot.first, snapshot.second))) {
      pending.push_back(snapshot);
    }
  }
  // Keys say nothing of depth, and a parent cannot go before its children.
  auto remove = [&](const std::pair<std::string, std::string>& snapshot) {
    return snapshots_->Remove(ns, snapshot.first, snapshot.second);
  };
  ASSIGN_OR_RETURN(int removed, RemoveInPasses(std::move(pending), remove));
  stats.snapshots += removed;
  return absl::OkStatus();
}

absl::Status Collector::SweepBlobs(GcStats& stats) {
  if (content_ == nullptr) return absl::OkStatus();
  absl::flat_hash_set<std::string> held;
  RETURN_IF_ERROR(db_.View([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<std::string> namespaces, NamespaceNames(txn));
    for (const std::string& ns : namespaces) {
      std::string kind = KindPrefix(ns, kContentKind);
      RETURN_IF_ERROR(txn.Scan(kind, [&](absl::string_view key, absl::string_view) {
        held.emplace(key.substr(kind.size()));
        return true;
      }));
    }
    return absl::OkStatus();
  }));
  std::vector<content::Digest> orphans;
  RETURN_IF_ERROR(content_->backend().Walk([&](const content::Info& info) {
    if (!held.contains(info.digest.string())) orphans.push_back(info.digest);
    return absl::OkStatus();
  }));
  for (const content::Digest& digest : orphans) {
    ASSIGN_OR_RETURN(bool removed, content_->DeleteBlobIfUnreferenced(digest));
    if (removed) ++stats.blobs;
  }
  return absl::OkStatus();
}

}  // namespace berth::metadata
