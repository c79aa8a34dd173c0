#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "containerd/services/introspection/v1/introspection.pb.h"
#include "ctl/commands/commands.h"
#include "ctl/methods.h"
#include "ctl/output.h"

namespace berth::ctl {
namespace {

namespace api = containerd::services::introspection::v1;

std::string PluginStatus(const api::Plugin& plugin) {
  if (!plugin.has_init_err()) return "ok";
  return absl::StrContains(plugin.init_err().message(), "skip plugin") ? "skip" : "error";
}

std::string Platforms(const api::Plugin& plugin) {
  std::vector<std::string> out;
  for (const auto& p : plugin.platforms()) out.push_back(p.os() + "/" + p.architecture());
  return out.empty() ? "-" : absl::StrJoin(out, ",");
}

}  // namespace

void AddPluginsCommand(CLI::App& app, Action& action) {
  CLI::App* cmd = app.add_subcommand("plugins", "List the daemon's plugins and their status");
  auto filters = std::make_shared<std::vector<std::string>>();
  cmd->add_option("filters", *filters, "containerd filters, e.g. type==io.containerd.grpc.v1");
  cmd->callback([&action, filters] {
    action = [filters](Client& client) -> absl::Status {
      api::PluginsRequest request;
      for (const auto& f : *filters) request.add_filters(f);
      api::PluginsResponse response;
      absl::Status status = client.Call(methods::kIntrospectionPlugins, request, &response);
      if (!status.ok()) return status;
      Table table({"TYPE", "ID", "PLATFORMS", "STATUS", "ERROR"});
      nlohmann::json json = nlohmann::json::array();
      for (const api::Plugin& plugin : response.plugins()) {
        std::string error = plugin.has_init_err() ? plugin.init_err().message() : "";
        table.AddRow({plugin.type(), plugin.id(), Platforms(plugin), PluginStatus(plugin), error});
        json.push_back({{"type", plugin.type()},
                        {"id", plugin.id()},
                        {"status", PluginStatus(plugin)},
                        {"error", error},
                        {"exports", std::map<std::string, std::string>(
                                        plugin.exports().begin(), plugin.exports().end())}});
      }
      Print(client.options().format, table, json);
      return absl::OkStatus();
    };
  });
}

}  // namespace berth::ctl
