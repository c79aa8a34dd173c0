// berthctl push [--platform P]... [--plain-http] IMAGE [REFERENCE]
//
// Pushes the local image IMAGE to REFERENCE (default: IMAGE's own name).

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

struct PushFlags {
  std::string image;
  std::string reference;
  std::vector<std::string> platforms;
  bool plain_http = false;
  bool skip_verify = false;
  bool quiet = false;
};

absl::Status PushCommand(Client& client, const PushFlags& flags) {
  api::PushRequest request;
  request.set_image(flags.image);
  request.set_reference(flags.reference);
  for (const auto& p : flags.platforms) request.add_platforms(p);
  request.mutable_registry()->set_plain_http(flags.plain_http);
  request.mutable_registry()->set_skip_verify(flags.skip_verify);
  absl::StatusOr<std::string> auths = ReadAuths();
  if (!auths.ok()) return auths.status();
  request.mutable_registry()->set_docker_config(*auths);

  grpc::ClientContext context;
  context.AddMetadata("containerd-namespace", client.options().ns);
  auto stream = api::Transfer::NewStub(client.channel())->Push(&context, request);
  ProgressView view(flags.quiet, isatty(STDOUT_FILENO) == 1);
  api::Progress progress, last;
  while (stream->Read(&progress)) {
    view.Update(progress);
    last = progress;
  }
  view.Finish();
  absl::Status status = FromGrpc(stream->Finish(), client.options().address);
  if (!status.ok()) return status;
  std::cout << last.name() << ": pushed " << last.target().digest() << "\n";
  return absl::OkStatus();
}

}  // namespace

void AddPushCommand(CLI::App& app, Action& action) {
  auto flags = std::make_shared<PushFlags>();
  CLI::App* push = app.add_subcommand("push", "Push an image to a registry");
  push->add_option("image", flags->image, "local image name")->required();
  push->add_option("reference", flags->reference, "destination (default: the image name)");
  push->add_option("--platform", flags->platforms, "only these platforms of an index");
  push->add_flag("--plain-http", flags->plain_http, "use HTTP for a localhost registry");
  push->add_flag("--skip-verify", flags->skip_verify, "do not verify the registry's TLS certificate");
  push->add_flag("-q,--quiet", flags->quiet, "no progress");
  push->callback([&action, flags] {
    action = [flags](Client& client) { return PushCommand(client, *flags); };
  });
}

}  // namespace berth::ctl
