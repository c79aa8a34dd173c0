// berthctl push [--platform P]... [--plain-http] IMAGE [REFERENCE]
//
// Pushes the local image IMAGE to REFERENCE (default: IMAGE's own name).

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

struct PushFlags {
  std::string image;
  std::string reference;
  std::vector<std::string> platforms;
  RegistryFlags registry;
  bool quiet = false;
};

absl::Status PushCommand(Client& client, const PushFlags& flags) {
  api::PushRequest request;
  request.set_image(flags.image);
  request.set_reference(flags.reference);
  for (const auto& p : flags.platforms) request.add_platforms(p);
  RETURN_IF_ERROR(flags.registry.Fill(/*with_auths=*/true, *request.mutable_registry()));

  auto stream = client.Stream(methods::kTransferPush, client.LongOptions());  // no deadline
  stream->Write(request, /*last=*/true);  // a failure shows in Finish
  ASSIGN_OR_RETURN(api::Progress last, FollowTransfer(client, flags.quiet, *stream));
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
  flags->registry.AddTo(*push);
  push->add_flag("-q,--quiet", flags->quiet, "no progress");
  push->callback([&action, flags] {
    action = [flags](Client& client) { return PushCommand(client, *flags); };
  });
}

}  // namespace berth::ctl
