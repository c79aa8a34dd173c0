// metadata_bench: times containerd's API v1 metadata calls against berthd and containerd 1.6
// with one and the same C++ gRPC client, side by side, and prints each figure for both daemons
// and the ratio berthd/containerd (lower is better for berthd).
//
//   metadata_bench <command> [--berthd SOCKET] [--containerd SOCKET] [options]
//
// Commands:
//   unary   Version.Version and Containers.Get latency (namespace --unary-namespace, one
//           container); --warmup calls per daemon first, then --calls timed calls per daemon;
//           then the same through OneThreadClient (one_thread_client.h), a client that wakes
//           no thread but the caller.
//   create  Containers.Create of ids c00000.. from --from to --count - 1 in --namespace, with
//           --concurrency client threads; per-call latency and throughput.
//   list    Containers.List and Containers.ListStream of all containers in --namespace
//           (--runs timed runs after one warm-up), then Containers.Get of random ids there.
//   all     unary, create (0..--count) and list, in that order.
//
// Fairness: both daemons get the same requests on their own channel, and every measurement is
// split into chunks run alternately (berthd, containerd, berthd, ...) so that background load
// on a shared machine hits both alike. Percentiles are nearest-rank over all timed calls.
//
// --tsv FILE appends one line per figure: "name<TAB>unit<TAB>berthd<TAB>containerd" (run.sh
// builds its summary table from it).

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <condition_variable>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "containerd/services/containers/v1/containers.grpc.pb.h"
#include "containerd/services/version/v1/version.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "tests/bench/metadata/one_thread_client.h"

namespace {

namespace containers_api = containerd::services::containers::v1;
namespace version_api = containerd::services::version::v1;
using Clock = std::chrono::steady_clock;

constexpr char kSpecTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
constexpr char kRuntime[] = "io.containerd.runc.v2";
constexpr int kMaxMessage = 64 << 20;

// A trimmed OCI runtime spec like the one `ctr run` generates for busybox (about 1.2 KB), so
// that 10,000 containers (about 1.45 KB each on the wire) still fit in one List response under
// the 16 MiB send limit of both daemons.
std::string SpecJson(const std::string& id) {
  return R"({"ociVersion":"1.0.2-dev","process":{"user":{"uid":0,"gid":0},"args":["sh","-c","sleep inf"],)"
         R"("env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"cwd":"/",)"
         R"("capabilities":{"bounding":["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER",)"
         R"("CAP_MKNOD","CAP_NET_RAW","CAP_SETGID","CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP",)"
         R"("CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT","CAP_KILL","CAP_AUDIT_WRITE"]},)"
         R"("noNewPrivileges":true},)"
         R"("root":{"path":"rootfs"},"hostname":")" + id + R"(",)"
         R"("mounts":[{"destination":"/proc","type":"proc","source":"proc","options":["nosuid","noexec","nodev"]},)"
         R"({"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]},)"
         R"({"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]}],)"
         R"("linux":{"resources":{"devices":[{"allow":false,"access":"rwm"}]},"cgroupsPath":"/bench/)" + id + R"(",)"
         R"("namespaces":[{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"network"}],)"
         R"("maskedPaths":["/proc/acpi","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list",)"
         R"("/sys/firmware"],"readonlyPaths":["/proc/bus",)"
         R"("/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]}})";
}

containers_api::Container MakeContainer(const std::string& id) {
  containers_api::Container c;
  c.set_id(id);
  c.set_image("docker.io/library/busybox:latest");
  c.mutable_runtime()->set_name(kRuntime);
  c.mutable_spec()->set_type_url(kSpecTypeUrl);
  c.mutable_spec()->set_value(SpecJson(id));
  c.set_snapshotter("overlayfs");
  c.set_snapshot_key(id);
  (*c.mutable_labels())["io.containerd.image.config.stop-signal"] = "SIGTERM";
  (*c.mutable_labels())["bench.berth.dev/group"] = "metadata";
  return c;
}

std::string ContainerId(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "c%05d", i);
  return buf;
}

// ---------------------------------------------------------------------------------------------

// The name the null server's column carries (run.sh's null_h2_server).
constexpr char kNullServer[] = "null";

struct Options {
  std::string command;
  std::string berthd, containerd;
  std::string null_server;  // null_h2_server's socket: the client's own floor (unary only)
  int calls = 2000, warmup = 200, chunks = 8;
  int from = 0, count = 10000, concurrency = 1, create_chunk = 500;
  int runs = 7, get_calls = 1000;
  std::string ns = "bench", unary_ns = "bench-unary";
  std::string tsv;
};

struct Daemon {
  std::string name, socket;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<version_api::Version::Stub> version;
  std::unique_ptr<containers_api::Containers::Stub> containers;
  std::unique_ptr<grpc::GenericStub> generic;  // raw bytes, for the daemon-side List figure
  std::optional<berth::bench::OneThreadClient> one_thread;  // the second set of unary figures
};

std::unique_ptr<Daemon> Connect(const std::string& name, const std::string& socket) {
  auto d = std::make_unique<Daemon>();
  d->name = name;
  d->socket = socket;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessage);
  args.SetMaxSendMessageSize(kMaxMessage);
  // Keep the two channels independent (no shared subchannel pool).
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  d->channel = grpc::CreateCustomChannel("unix:" + socket, grpc::InsecureChannelCredentials(), args);
  if (!d->channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
    std::fprintf(stderr, "metadata_bench: cannot connect to %s at %s\n", name.c_str(),
                 socket.c_str());
    std::exit(2);
  }
  d->version = version_api::Version::NewStub(d->channel);
  d->containers = containers_api::Containers::NewStub(d->channel);
  d->generic = std::make_unique<grpc::GenericStub>(d->channel);
  absl::StatusOr<berth::bench::OneThreadClient> one_thread =
      berth::bench::OneThreadClient::Dial(socket);
  if (!one_thread.ok()) {
    std::fprintf(stderr, "metadata_bench: cannot connect to %s at %s: %s\n", name.c_str(),
                 socket.c_str(), one_thread.status().ToString().c_str());
    std::exit(2);
  }
  d->one_thread.emplace(std::move(*one_thread));
  return d;
}

void Context(grpc::ClientContext& ctx, const std::string& ns, int seconds) {
  if (!ns.empty()) ctx.AddMetadata("containerd-namespace", ns);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

[[noreturn]] void Fail(const Daemon& d, const char* what, const grpc::Status& s) {
  std::fprintf(stderr, "metadata_bench: %s: %s failed: code %d: %s\n", d.name.c_str(), what,
               static_cast<int>(s.error_code()), s.error_message().c_str());
  std::exit(1);
}

// ---------------------------------------------------------------------------------------------
// Statistics and output.

struct Stats {
  size_t n = 0;
  double min = 0, median = 0, p95 = 0, max = 0, mean = 0;
};

Stats Summarize(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.n = v.size();
  s.min = v.front();
  s.max = v.back();
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  size_t rank = static_cast<size_t>(std::ceil(0.95 * static_cast<double>(v.size())));
  s.p95 = v[std::max<size_t>(rank, 1) - 1];
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  return s;
}

class Report {
 public:
  Report(const Options& o, const std::vector<Daemon*>& daemons) : opts_(o), daemons_(daemons) {}

  void Title(const std::string& title) {
    std::printf("\n== %s\n%-50s %-6s", title.c_str(), "figure", "unit");
    for (Daemon* d : daemons_) std::printf(" %12s", d->name.c_str());
    if (Index("berthd") && Index("containerd")) std::printf(" %8s", "ratio");
    std::printf("\n");
  }

  // values[i] belongs to daemons_[i].
  void Row(const std::string& name, const std::string& unit, const std::vector<double>& values) {
    std::printf("%-50s %-6s", name.c_str(), unit.c_str());
    for (double v : values) std::printf(" %12.*f", Precision(v), v);
    std::optional<size_t> b = Index("berthd"), c = Index("containerd");
    if (b && c) {
      if (values[*c] > 0) {
        std::printf(" %8.2f", values[*b] / values[*c]);
      } else {
        std::printf(" %8s", "-");
      }
    }
    std::printf("\n");
    std::fflush(stdout);
    if (!opts_.tsv.empty()) {
      std::ofstream out(opts_.tsv, std::ios::app);
      out << name << '\t' << unit;
      for (size_t i = 0; i < 2; ++i) {
        out << '\t';
        // Column order in the TSV is always berthd, containerd ("-" if not measured).
        std::optional<size_t> j = Index(i == 0 ? "berthd" : "containerd");
        if (j) {
          out << values[*j];
        } else {
          out << '-';
        }
      }
      out << '\n';
    }
  }

  void LatencyRows(const std::string& name, const std::vector<Stats>& stats) {
    std::vector<double> med, p95;
    for (const Stats& s : stats) {
      med.push_back(s.median);
      p95.push_back(s.p95);
    }
    Row(name + " median", "us", med);
    Row(name + " p95", "us", p95);
    // With the null server beside the daemons: each median less the null server's, i.e. the
    // daemon's own share of a call. The client's share is in every column and, when the VM is
    // busy, grows for both daemons alike (see ../README.md).
    if (std::optional<size_t> floor = Index(kNullServer)) {
      std::vector<double> own;
      for (double m : med) own.push_back(m - med[*floor]);
      Row(name + " minus floor", "us", own);
    }
  }

 private:
  std::optional<size_t> Index(const std::string& name) const {
    for (size_t i = 0; i < daemons_.size(); ++i) {
      if (daemons_[i]->name == name) return i;
    }
    return std::nullopt;
  }
  static int Precision(double v) { return std::fabs(v) >= 100 ? 0 : std::fabs(v) >= 10 ? 1 : 2; }
  const Options& opts_;
  std::vector<Daemon*> daemons_;
};

double MicrosSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

// ---------------------------------------------------------------------------------------------
// Calls.

double CallVersion(Daemon& d) {
  grpc::ClientContext ctx;
  Context(ctx, "", 10);
  google::protobuf::Empty req;
  version_api::VersionResponse resp;
  auto t0 = Clock::now();
  grpc::Status s = d.version->Version(&ctx, req, &resp);
  double us = MicrosSince(t0);
  if (!s.ok()) Fail(d, "Version.Version", s);
  return us;
}

double CallGet(Daemon& d, const std::string& ns, const std::string& id) {
  grpc::ClientContext ctx;
  Context(ctx, ns, 10);
  containers_api::GetContainerRequest req;
  req.set_id(id);
  containers_api::GetContainerResponse resp;
  auto t0 = Clock::now();
  grpc::Status s = d.containers->Get(&ctx, req, &resp);
  double us = MicrosSince(t0);
  if (!s.ok()) Fail(d, "Containers.Get", s);
  if (resp.container().id() != id) {
    std::fprintf(stderr, "metadata_bench: %s: Get returned id %s, want %s\n", d.name.c_str(),
                 resp.container().id().c_str(), id.c_str());
    std::exit(1);
  }
  return us;
}

// Version and Get through OneThreadClient: the same requests and checks as above.
double CallOneThread(Daemon& d, std::string_view path, const std::string& ns,
                     const google::protobuf::MessageLite& request,
                     google::protobuf::MessageLite* response) {
  auto t0 = Clock::now();
  absl::Status s = d.one_thread->Unary(path, ns, request, response);
  double us = MicrosSince(t0);
  if (!s.ok()) {
    std::fprintf(stderr, "metadata_bench: %s: %s (one-thread client) failed: %s\n",
                 d.name.c_str(), std::string(path).c_str(), s.ToString().c_str());
    std::exit(1);
  }
  return us;
}

double CallVersionOneThread(Daemon& d) {
  version_api::VersionResponse resp;
  return CallOneThread(d, "/containerd.services.version.v1.Version/Version", "",
                       google::protobuf::Empty(), &resp);
}

double CallGetOneThread(Daemon& d, const std::string& ns, const std::string& id) {
  containers_api::GetContainerRequest req;
  req.set_id(id);
  containers_api::GetContainerResponse resp;
  double us = CallOneThread(d, "/containerd.services.containers.v1.Containers/Get", ns, req, &resp);
  if (resp.container().id() != id) {
    std::fprintf(stderr, "metadata_bench: %s: Get (one-thread client) returned id %s, want %s\n",
                 d.name.c_str(), resp.container().id().c_str(), id.c_str());
    std::exit(1);
  }
  return us;
}

// Returns latency in µs, or nullopt if the container already exists (when allowed).
std::optional<double> CallCreate(Daemon& d, const std::string& ns, const std::string& id,
                                 bool allow_exists) {
  grpc::ClientContext ctx;
  Context(ctx, ns, 30);
  containers_api::CreateContainerRequest req;
  *req.mutable_container() = MakeContainer(id);
  containers_api::CreateContainerResponse resp;
  auto t0 = Clock::now();
  grpc::Status s = d.containers->Create(&ctx, req, &resp);
  double us = MicrosSince(t0);
  if (allow_exists && s.error_code() == grpc::StatusCode::ALREADY_EXISTS) return std::nullopt;
  if (!s.ok()) Fail(d, "Containers.Create", s);
  return us;
}

struct ListResult {
  double us;
  size_t count;
  size_t bytes;
};

ListResult CallList(Daemon& d, const std::string& ns) {
  grpc::ClientContext ctx;
  Context(ctx, ns, 120);
  containers_api::ListContainersRequest req;
  containers_api::ListContainersResponse resp;
  auto t0 = Clock::now();
  grpc::Status s = d.containers->List(&ctx, req, &resp);
  double us = MicrosSince(t0);
  if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    std::fprintf(stderr, "metadata_bench: the List response is over a message size limit (the "
                         "daemons send at most 16 MiB); use fewer or smaller containers\n");
  }
  if (!s.ok()) Fail(d, "Containers.List", s);
  return {us, static_cast<size_t>(resp.containers_size()), resp.ByteSizeLong()};
}

// The same call with the response left as bytes: what the daemon and the transport take,
// without the client's parse of the 10,000 records (the same for both daemons, and a large
// share of the parsed figure).
ListResult CallListUnparsed(Daemon& d, const std::string& ns) {
  grpc::ClientContext ctx;
  Context(ctx, ns, 120);
  std::string request_bytes = containers_api::ListContainersRequest().SerializeAsString();
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1), response;
  std::mutex mu;
  std::condition_variable cv;
  std::optional<grpc::Status> status;
  auto t0 = Clock::now();
  d.generic->UnaryCall(&ctx, "/containerd.services.containers.v1.Containers/List",
                       grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
                         std::lock_guard<std::mutex> lock(mu);
                         status = std::move(s);
                         cv.notify_one();
                       });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return status.has_value(); });
  double us = MicrosSince(t0);
  if (!status->ok()) Fail(d, "Containers.List (unparsed)", *status);
  return {us, 0, response.Length()};
}

ListResult CallListStream(Daemon& d, const std::string& ns) {
  grpc::ClientContext ctx;
  Context(ctx, ns, 120);
  containers_api::ListContainersRequest req;
  containers_api::ListContainerMessage msg;
  size_t count = 0, bytes = 0;
  auto t0 = Clock::now();
  std::unique_ptr<grpc::ClientReader<containers_api::ListContainerMessage>> reader(
      d.containers->ListStream(&ctx, req));
  while (reader->Read(&msg)) {
    ++count;
    bytes += msg.ByteSizeLong();
  }
  grpc::Status s = reader->Finish();
  double us = MicrosSince(t0);
  if (!s.ok()) Fail(d, "Containers.ListStream", s);
  return {us, count, bytes};
}

// Runs `total` calls of fn on every daemon, split into `chunks` chunks run alternately.
std::vector<std::vector<double>> Alternate(const std::vector<Daemon*>& daemons, int total,
                                           int chunks,
                                           const std::function<double(Daemon&, int)>& fn) {
  std::vector<std::vector<double>> samples(daemons.size());
  chunks = std::max(1, std::min(chunks, total));
  int done = 0;
  for (int c = 0; c < chunks; ++c) {
    int n = total * (c + 1) / chunks - done;
    for (size_t i = 0; i < daemons.size(); ++i) {
      for (int k = 0; k < n; ++k) samples[i].push_back(fn(*daemons[i], done + k));
    }
    done += n;
  }
  return samples;
}

// ---------------------------------------------------------------------------------------------
// Commands.

using CallFn = std::function<double(Daemon&)>;

// Warms every daemon up with both calls, then times each in alternating chunks and reports
// their latency rows under `version_name` and `get_name`.
void TimeVersionAndGet(const Options& o, const std::vector<Daemon*>& daemons, Report& report,
                       const CallFn& version_call, const CallFn& get_call,
                       const std::string& version_name, const std::string& get_name) {
  for (Daemon* d : daemons) {
    for (int i = 0; i < o.warmup; ++i) {
      version_call(*d);
      get_call(*d);
    }
  }
  auto version = Alternate(daemons, o.calls, o.chunks, [&](Daemon& d, int) { return version_call(d); });
  auto get = Alternate(daemons, o.calls, o.chunks, [&](Daemon& d, int) { return get_call(d); });
  std::vector<Stats> vs, gs;
  for (size_t i = 0; i < daemons.size(); ++i) {
    vs.push_back(Summarize(version[i]));
    gs.push_back(Summarize(get[i]));
  }
  report.LatencyRows(version_name, vs);
  report.LatencyRows(get_name, gs);
}

void RunUnary(const Options& o, const std::vector<Daemon*>& daemons, Report& report) {
  const std::string target = "get-target";
  for (Daemon* d : daemons) {
    // The null server answers any Get with the id asked for; it has nothing to create.
    if (d->name != kNullServer) (void)CallCreate(*d, o.unary_ns, target, /*allow_exists=*/true);
  }
  report.Title("unary latency: " + std::to_string(o.calls) + " calls per daemon after " +
               std::to_string(o.warmup) + " warm-up, " + std::to_string(o.chunks) +
               " alternating chunks");
  TimeVersionAndGet(
      o, daemons, report, [](Daemon& d) { return CallVersion(d); },
      [&](Daemon& d) { return CallGet(d, o.unary_ns, target); }, "Version.Version",
      "Containers.Get (1 container)");
  // The same calls through OneThreadClient, which wakes no thread but the caller: less of each
  // figure is the client's own cost (see one_thread_client.h).
  TimeVersionAndGet(
      o, daemons, report, [](Daemon& d) { return CallVersionOneThread(d); },
      [&](Daemon& d) { return CallGetOneThread(d, o.unary_ns, target); },
      "Version.Version, one-thread client", "Containers.Get (1), one-thread client");
}

void RunCreate(const Options& o, const std::vector<Daemon*>& daemons, Report& report) {
  if (o.count <= o.from) return;
  int total = o.count - o.from;
  std::vector<std::vector<double>> lat(daemons.size());
  std::vector<double> wall_s(daemons.size(), 0);
  std::vector<int> skipped(daemons.size(), 0);
  for (int start = o.from; start < o.count; start += o.create_chunk) {
    int end = std::min(o.count, start + o.create_chunk);
    for (size_t i = 0; i < daemons.size(); ++i) {
      Daemon& d = *daemons[i];
      std::atomic<int> next{start};
      std::vector<std::vector<double>> per_thread(o.concurrency);
      std::atomic<int> exists{0};
      auto worker = [&](int t) {
        for (int k = next++; k < end; k = next++) {
          std::optional<double> us = CallCreate(d, o.ns, ContainerId(k), /*allow_exists=*/true);
          if (us) {
            per_thread[t].push_back(*us);
          } else {
            ++exists;
          }
        }
      };
      auto t0 = Clock::now();
      std::vector<std::thread> threads;
      for (int t = 0; t < o.concurrency; ++t) threads.emplace_back(worker, t);
      for (auto& th : threads) th.join();
      wall_s[i] += MicrosSince(t0) / 1e6;
      for (auto& v : per_thread) lat[i].insert(lat[i].end(), v.begin(), v.end());
      skipped[i] += exists;
    }
  }
  report.Title("Containers.Create " + ContainerId(o.from) + ".." + ContainerId(o.count - 1) +
               " in namespace " + o.ns + ", " + std::to_string(o.concurrency) +
               " client thread(s), spec " + std::to_string(SpecJson(ContainerId(0)).size()) +
               " B");
  std::vector<Stats> stats;
  std::vector<double> rate;
  for (size_t i = 0; i < daemons.size(); ++i) {
    stats.push_back(Summarize(lat[i]));
    rate.push_back(wall_s[i] > 0 ? static_cast<double>(lat[i].size()) / wall_s[i] : 0);
    if (skipped[i] > 0) {
      std::printf("  (%s: %d of %d ids already existed)\n", daemons[i]->name.c_str(), skipped[i],
                  total);
    }
  }
  std::string suffix = " (" + std::to_string(o.concurrency) + "T, to " + std::to_string(o.count) + ")";
  report.LatencyRows("Containers.Create" + suffix, stats);
  report.Row("Containers.Create throughput" + suffix, "ops/s", rate);
}

void RunList(const Options& o, const std::vector<Daemon*>& daemons, Report& report) {
  // Warm-up, and check that both daemons hold the same number of containers.
  std::vector<ListResult> first;
  for (Daemon* d : daemons) first.push_back(CallList(*d, o.ns));
  for (Daemon* d : daemons) (void)CallListStream(*d, o.ns);
  size_t n = first[0].count;
  report.Title("Containers.List / ListStream of namespace " + o.ns + " (" + std::to_string(n) +
               " containers, " + std::to_string(first[0].bytes / 1024) + " KiB), " +
               std::to_string(o.runs) + " runs after 1 warm-up");
  for (size_t i = 0; i < daemons.size(); ++i) {
    if (first[i].count != n) {
      std::printf("  WARNING: %s lists %zu containers, %s lists %zu\n", daemons[i]->name.c_str(),
                  first[i].count, daemons[0]->name.c_str(), n);
    }
  }
  std::vector<std::vector<double>> list(daemons.size()), stream(daemons.size()),
      unparsed(daemons.size());
  for (int r = 0; r < o.runs; ++r) {
    for (size_t i = 0; i < daemons.size(); ++i) list[i].push_back(CallList(*daemons[i], o.ns).us / 1000);
    for (size_t i = 0; i < daemons.size(); ++i) {
      unparsed[i].push_back(CallListUnparsed(*daemons[i], o.ns).us / 1000);
    }
    for (size_t i = 0; i < daemons.size(); ++i) {
      stream[i].push_back(CallListStream(*daemons[i], o.ns).us / 1000);
    }
  }
  std::string at = " (" + std::to_string(n) + ")";
  std::vector<double> lm, lmin, um, umin, sm, smin;
  for (size_t i = 0; i < daemons.size(); ++i) {
    Stats l = Summarize(list[i]), u = Summarize(unparsed[i]), s = Summarize(stream[i]);
    lm.push_back(l.median);
    lmin.push_back(l.min);
    um.push_back(u.median);
    umin.push_back(u.min);
    sm.push_back(s.median);
    smin.push_back(s.min);
  }
  report.Row("Containers.List" + at + " median", "ms", lm);
  report.Row("Containers.List" + at + " min", "ms", lmin);
  report.Row("Containers.List unparsed" + at + " median", "ms", um);
  report.Row("Containers.List unparsed" + at + " min", "ms", umin);
  report.Row("Containers.ListStream" + at + " median", "ms", sm);
  report.Row("Containers.ListStream" + at + " min", "ms", smin);

  if (n == 0 || o.get_calls <= 0) return;
  // Get of random existing ids (same sequence for both daemons) with n containers stored.
  int limit = static_cast<int>(std::min<size_t>(n, static_cast<size_t>(o.count)));
  std::vector<std::string> ids;
  std::mt19937 rng(42);
  for (int k = 0; k < o.get_calls; ++k) ids.push_back(ContainerId(static_cast<int>(rng() % limit)));
  for (Daemon* d : daemons) {
    for (int k = 0; k < std::min(o.warmup, o.get_calls); ++k) CallGet(*d, o.ns, ids[k]);
  }
  auto get = Alternate(daemons, o.get_calls, o.chunks,
                       [&](Daemon& d, int k) { return CallGet(d, o.ns, ids[k]); });
  std::vector<Stats> gs;
  for (auto& v : get) gs.push_back(Summarize(v));
  report.LatencyRows("Containers.Get (random of " + std::to_string(n) + ")", gs);
}

[[noreturn]] void Usage() {
  std::fprintf(stderr,
               "usage: metadata_bench unary|create|list|all [--berthd SOCKET] [--containerd SOCKET]\n"
               "  [--null SOCKET (null_h2_server, beside the daemons in the unary figures)]\n"
               "  [--calls N=2000] [--warmup N=200] [--chunks N=8] [--namespace NS=bench]\n"
               "  [--unary-namespace NS=bench-unary] [--from N=0] [--count N=10000]\n"
               "  [--concurrency N=1] [--runs N=7] [--get-calls N=1000] [--tsv FILE]\n");
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  if (argc < 2) Usage();
  o.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) Usage();
    std::string value = argv[++i];
    auto num = [&]() { return std::atoi(value.c_str()); };
    if (flag == "--berthd") o.berthd = value;
    else if (flag == "--containerd") o.containerd = value;
    else if (flag == "--null") o.null_server = value;
    else if (flag == "--calls") o.calls = num();
    else if (flag == "--warmup") o.warmup = num();
    else if (flag == "--chunks") o.chunks = num();
    else if (flag == "--namespace") o.ns = value;
    else if (flag == "--unary-namespace") o.unary_ns = value;
    else if (flag == "--from") o.from = num();
    else if (flag == "--count") o.count = num();
    else if (flag == "--concurrency") o.concurrency = std::max(1, num());
    else if (flag == "--runs") o.runs = std::max(1, num());
    else if (flag == "--get-calls") o.get_calls = num();
    else if (flag == "--tsv") o.tsv = value;
    else Usage();
  }
  if (o.berthd.empty() && o.containerd.empty()) Usage();
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  // Keep freed heap memory in this process. Otherwise glibc hands the ~40 MB of a parsed
  // 10,000-container List response back to the kernel when it is freed, and the next parse
  // page-faults all of it in again: on this VM that was ~80 ms of the ~110 ms parsed List
  // figure (measured: the same bytes parse in ~9 ms on a warm heap), a cost of this client's
  // allocator that is the same whichever daemon answered, and that hid the daemons' difference.
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  Options o = Parse(argc, argv);
  std::vector<std::unique_ptr<Daemon>> owned;
  if (!o.berthd.empty()) owned.push_back(Connect("berthd", o.berthd));
  if (!o.containerd.empty()) owned.push_back(Connect("containerd", o.containerd));
  std::vector<Daemon*> daemons;
  for (auto& d : owned) daemons.push_back(d.get());
  std::vector<Daemon*> unary_targets = daemons;
  if (!o.null_server.empty()) {
    owned.push_back(Connect(kNullServer, o.null_server));
    unary_targets.push_back(owned.back().get());
  }
  Report report(o, daemons);
  if (o.command == "unary" || o.command == "all") {
    Report unary_report(o, unary_targets);
    RunUnary(o, unary_targets, unary_report);
  }
  if (o.command == "create" || o.command == "all") RunCreate(o, daemons, report);
  if (o.command == "list" || o.command == "all") RunList(o, daemons, report);
  if (o.command != "unary" && o.command != "create" && o.command != "list" && o.command != "all") {
    Usage();
  }
  return 0;
}
