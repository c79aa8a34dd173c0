// berthctl pull [--platform P]... [--all-platforms] [--plain-http] [-q] REFERENCE
//
// The daemon resolves, downloads and unpacks; this command shows the progress it streams.

#include <iostream>
#include <memory>

#include "berth/services/pull/v1/transfer.pb.h"
#include "ctl/commands/registry_commands.h"
#include "ctl/commands/registry_util.h"
#include "ctl/methods.h"
#include "plugins/base/status_macros.h"

namespace berth::ctl {
namespace {

namespace api = berth::services::pull::v1;

struct PullFlags {
  std::string reference;
  std::vector<std::string> platforms;
  bool all_platforms = false;
  RegistryFlags registry;
  bool quiet = false;
  bool no_unpack = false;
  std::string snapshotter;
  int concurrency = 0;
};

absl::Status PullCommand(Client& client, const PullFlags& flags) {
  api::PullRequest request;
  request.set_reference(flags.reference);
  for (const auto& p : flags.platforms) request.add_platforms(p);
  request.set_all_platforms(flags.all_platforms);
  request.set_unpack(!flags.no_unpack);
  request.set_snapshotter(flags.snapshotter);
  request.set_max_concurrent_downloads(flags.concurrency);
  RETURN_IF_ERROR(flags.registry.Fill(/*with_auths=*/true, *request.mutable_registry()));

  // No deadline: a pull takes as long as the bytes do.
  auto stream = client.Stream(methods::kTransferPull, client.LongOptions());
  stream->Write(request, /*last=*/true);  // a failure shows in Finish
  ASSIGN_OR_RETURN(api::Progress last, FollowTransfer(client, flags.quiet, *stream));
  if (flags.quiet) {
    std::cout << last.name() << "\n";
  } else {
    std::cout << last.name() << ": pulled " << last.target().digest() << "\n";
    if (!last.chain_id().empty()) std::cout << "unpacked: " << last.chain_id() << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

void AddPullCommand(CLI::App& app, Action& action) {
  auto flags = std::make_shared<PullFlags>();
  CLI::App* pull = app.add_subcommand("pull", "Pull an image from a registry");
  pull->add_option("reference", flags->reference, "image reference (busybox, host:port/repo:tag)")
      ->required();
  pull->add_option("--platform", flags->platforms, "os/arch[/variant] to pull (repeatable)");
  pull->add_flag("--all-platforms", flags->all_platforms, "pull every platform of an index");
  flags->registry.AddTo(*pull);
  pull->add_flag("-q,--quiet", flags->quiet, "print only the image name");
  pull->add_flag("--no-unpack", flags->no_unpack, "only fetch the content");
  pull->add_option("--snapshotter", flags->snapshotter, "snapshotter to unpack into");
  pull->add_option("--max-concurrent-downloads", flags->concurrency, "parallel layer downloads");
  pull->callback([&action, flags] {
    action = [flags](Client& client) { return PullCommand(client, *flags); };
  });
}

}  // namespace berth::ctl
