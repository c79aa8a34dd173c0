#pragma once

// What berthctl's registry commands (pull, push, login) share: the connection flags every
// Transfer request carries, and reading a Transfer stream with its progress on screen.

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "berth/services/pull/v1/transfer.pb.h"
#include "ctl/client.h"
#include "ctl/rpc/call.h"

namespace berth::ctl {

struct RegistryFlags {
  bool plain_http = false;
  bool skip_verify = false;

  // Adds --plain-http and --skip-verify to `command`.
  void AddTo(CLI::App& command);
  // The request's registry options; `with_auths` adds the saved logins (auth_config.h).
  absl::Status Fill(bool with_auths, berth::services::pull::v1::RegistryOptions& out) const;
};

// Reads a Transfer stream (Pull or Push, its request already written) to its end, showing
// progress unless `quiet`, and returns its last message, or the call's error.
absl::StatusOr<berth::services::pull::v1::Progress> FollowTransfer(Client& client, bool quiet,
                                                                   rpc::Call& stream);

}  // namespace berth::ctl
