// berthctl pull [--platform P]... [--all-platforms] [--plain-http] [-q] REFERENCE
//
// The daemon resolves, downloads and unpacks; this command shows the progress it streams.

#include <unistd.h>

#include <iostream>
#include <memory>

#include "berth/services/pull/v1/transfer.grpc.pb.h"
#include "ctl/commands/auth_config.h"
#include "ctl/commands/registry_commands.h"
#include "ctl/commands/transfer_progress.h"

namespace berth::ctl {
namespace {

namespace api = berth::services::pull::v1;

struct PullFlags {
  std::string reference;
  std::vector<std::string> platforms;
  bool all_platforms = false;
  bool plain_http = false;
  bool skip_verify = false;
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
  request.mutable_registry()->set_plain_http(flags.plain_http);
  request.mutable_registry()->set_skip_verify(flags.skip_verify);
  absl::StatusOr<std::string> auths = ReadAuths();
  if (!auths.ok()) return auths.status();
  request.mutable_registry()->set_docker_config(*auths);

  grpc::ClientContext context;  // no deadline: a pull takes as long as the bytes do
  context.AddMetadata("containerd-namespace", client.options().ns);
  auto stream = api::Transfer::NewStub(client.channel())->Pull(&context, request);
  ProgressView view(flags.quiet, isatty(STDOUT_FILENO) == 1);
  api::Progress progress, last;
  while (stream->Read(&progress)) {
    view.Update(progress);
    last = progress;
  }
  view.Finish();
  absl::Status status = FromGrpc(stream->Finish(), client.options().address);
  if (!status.ok()) return status;
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
  pull->add_flag("--plain-http", flags->plain_http, "use HTTP for a localhost registry");
  pull->add_flag("--skip-verify", flags->skip_verify, "do not verify the registry's TLS certificate");
  pull->add_flag("-q,--quiet", flags->quiet, "print only the image name");
  pull->add_flag("--no-unpack", flags->no_unpack, "only fetch the content");
  pull->add_option("--snapshotter", flags->snapshotter, "snapshotter to unpack into");
  pull->add_option("--max-concurrent-downloads", flags->concurrency, "parallel layer downloads");
  pull->callback([&action, flags] {
    action = [flags](Client& client) { return PullCommand(client, *flags); };
  });
}

// One registration line in main.cc for the registry commands.
void AddRegistryCommands(CLI::App& app, Action& action) {
  AddPullCommand(app, action);
  AddPushCommand(app, action);
  AddLoginCommands(app, action);
}

}  // namespace berth::ctl
