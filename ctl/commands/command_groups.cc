#include <algorithm>

#include "ctl/commands/commands.h"
#include "ctl/commands/container_commands.h"
#include "ctl/commands/registry_commands.h"

namespace berth::ctl {

const std::vector<CommandGroup>& CommandGroups() {
  static const auto* const groups = new std::vector<CommandGroup>{
      {{"version"}, AddVersionCommand},
      {{"plugins"}, AddPluginsCommand},
      {{"namespace", "ns"}, AddNamespaceCommands},
      {{"images", "image", "i"}, AddImageCommands},
      {{"pull"}, AddPullCommand},
      {{"push"}, AddPushCommand},
      {{"login", "logout"}, AddLoginCommands},
      {{"run", "create", "start"}, AddRunCommands},
      {{"ps", "inspect", "rm", "wait"}, AddContainerListCommands},
      {{"stop", "kill", "exec", "attach", "top", "stats"}, AddTaskCommands},
      {{"content"}, AddContentCommands},
  };
  return *groups;
}

void AddCommandsFor(CLI::App& app, Action& action, const std::vector<std::string_view>& args) {
  auto named = [&args](const CommandGroup& group) {
    return std::any_of(group.names.begin(), group.names.end(), [&args](std::string_view name) {
      return std::find(args.begin(), args.end(), name) != args.end();
    });
  };
  std::vector<const CommandGroup*> wanted;
  for (const CommandGroup& group : CommandGroups()) {
    if (named(group)) wanted.push_back(&group);
  }
  if (wanted.empty()) {
    for (const CommandGroup& group : CommandGroups()) wanted.push_back(&group);
  }
  for (const CommandGroup* group : wanted) group->add(app, action);
}

}  // namespace berth::ctl
