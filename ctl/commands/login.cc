// berthctl login [-u USER] [-p PASS | --password-stdin] [SERVER]; berthctl logout [SERVER]
//
// login asks the daemon to check the credentials against the registry (GET /v2/ with its
// challenge), then stores them (auth_config.h). SERVER defaults to docker.io.

#include <iostream>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "berth/services/pull/v1/transfer.pb.h"
#include "ctl/commands/auth_config.h"
#include "ctl/commands/registry_commands.h"
#include "ctl/commands/registry_util.h"
#include "ctl/methods.h"
#include "plugins/base/status_macros.h"

namespace berth::ctl {
namespace {

namespace api = berth::services::pull::v1;

struct LoginFlags {
  std::string server = "docker.io";
  std::string username;
  std::string password;
  bool password_stdin = false;
  RegistryFlags registry;
};

absl::Status LoginCommand(Client& client, LoginFlags flags) {
  if (flags.password_stdin) {
    std::getline(std::cin, flags.password);
    absl::StripTrailingAsciiWhitespace(&flags.password);
  }
  if (flags.username.empty()) return absl::InvalidArgumentError("login: --username is required");
  api::LoginRequest request;
  request.set_server(ServerKey(flags.server));
  request.set_username(flags.username);
  request.set_password(flags.password);
  RETURN_IF_ERROR(flags.registry.Fill(/*with_auths=*/false, *request.mutable_registry()));
  api::LoginResponse response;
  absl::Status status = client.Call(methods::kTransferLogin, request, &response);
  if (!status.ok()) return status;
  status = StoreLogin(flags.server, flags.username, flags.password);
  if (!status.ok()) return status;
  std::cout << "Login Succeeded (" << AuthConfigPath() << ")\n";
  return absl::OkStatus();
}

}  // namespace

void AddLoginCommands(CLI::App& app, Action& action) {
  auto flags = std::make_shared<LoginFlags>();
  CLI::App* login = app.add_subcommand("login", "Log in to a registry");
  login->add_option("server", flags->server, "registry (default docker.io)");
  login->add_option("-u,--username", flags->username, "user name");
  login->add_option("-p,--password", flags->password, "password");
  login->add_flag("--password-stdin", flags->password_stdin, "read the password from stdin");
  flags->registry.AddTo(*login);
  login->callback([&action, flags] {
    action = [flags](Client& client) { return LoginCommand(client, *flags); };
  });

  auto server = std::make_shared<std::string>("docker.io");
  CLI::App* logout = app.add_subcommand("logout", "Forget a registry's credentials");
  logout->add_option("server", *server, "registry (default docker.io)");
  logout->callback([&action, server] {
    action = [server](Client&) -> absl::Status {
      absl::Status status = RemoveLogin(*server);
      if (status.ok()) std::cout << "Removed login credentials for " << ServerKey(*server) << "\n";
      return status;
    };
  });
}

}  // namespace berth::ctl
