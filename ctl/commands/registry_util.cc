#include "ctl/commands/registry_util.h"

#include <unistd.h>

#include "ctl/commands/auth_config.h"
#include "ctl/commands/transfer_progress.h"

namespace berth::ctl {

namespace api = berth::services::pull::v1;

void RegistryFlags::AddTo(CLI::App& command) {
  command.add_flag("--plain-http", plain_http, "use HTTP for a localhost registry");
  command.add_flag("--skip-verify", skip_verify, "do not verify the registry's TLS certificate");
}

absl::Status RegistryFlags::Fill(bool with_auths, api::RegistryOptions& out) const {
  out.set_plain_http(plain_http);
  out.set_skip_verify(skip_verify);
  if (!with_auths) return absl::OkStatus();
  absl::StatusOr<std::string> auths = ReadAuths();
  if (!auths.ok()) return auths.status();
  out.set_docker_config(*auths);
  return absl::OkStatus();
}

absl::StatusOr<api::Progress> FollowTransfer(Client& client, bool quiet, rpc::Call& stream) {
  ProgressView view(quiet, isatty(STDOUT_FILENO) == 1);
  api::Progress progress, last;
  while (stream.Read(&progress)) {
    view.Update(progress);
    last = progress;
  }
  view.Finish();
  absl::Status status = client.Explain(stream.Finish());
  if (!status.ok()) return status;
  return last;
}

}  // namespace berth::ctl
