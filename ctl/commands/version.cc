#include "containerd/services/introspection/v1/introspection.pb.h"
#include "containerd/services/version/v1/version.pb.h"
#include "ctl/commands/commands.h"
#include "ctl/methods.h"
#include "ctl/output.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.0.0"
#endif

namespace berth::ctl {

void AddVersionCommand(CLI::App& app, Action& action) {
  CLI::App* cmd = app.add_subcommand("version", "Show the client and daemon versions");
  cmd->callback([&action] {
    action = [](Client& client) -> absl::Status {
      namespace version = containerd::services::version::v1;
      namespace introspection = containerd::services::introspection::v1;
      version::VersionResponse v;
      absl::Status status = client.Call(methods::kVersion, {}, &v);
      if (!status.ok()) return status;
      introspection::ServerResponse server;
      status = client.Call(methods::kIntrospectionServer, {}, &server);
      if (!status.ok()) return status;
      Table table({"", "VERSION", "REVISION", "UUID"});
      table.AddRow({"client", BERTH_VERSION, "", ""});
      table.AddRow({"daemon", v.version(), v.revision(), server.uuid()});
      nlohmann::json json = {{"client", {{"version", BERTH_VERSION}}},
                             {"daemon",
                              {{"version", v.version()},
                               {"revision", v.revision()},
                               {"uuid", server.uuid()}}}};
      Print(client.options().format, table, json);
      return absl::OkStatus();
    };
  });
}

}  // namespace berth::ctl
