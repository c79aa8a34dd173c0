// main registers only the command groups a command line names (commands.h AddCommandsFor):
// each group's declared names must be exactly what its Add function registers, or a command
// would be missing when named.

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "CLI/CLI.hpp"
#include "ctl/commands/commands.h"
#include "gtest/gtest.h"

namespace berth::ctl {
namespace {

// Names and aliases of the top-level subcommands registered on `app`.
std::set<std::string> Registered(const CLI::App& app) {
  std::set<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    names.insert(sub->get_name());
    for (const std::string& alias : sub->get_aliases()) names.insert(alias);
  }
  return names;
}

std::set<std::string> RegisteredFor(const std::vector<std::string_view>& args) {
  CLI::App app;
  Action action;
  AddCommandsFor(app, action, args);
  return Registered(app);
}

TEST(CommandGroupsTest, EachGroupDeclaresExactlyWhatItRegisters) {
  for (const CommandGroup& group : CommandGroups()) {
    CLI::App app;
    Action action;
    group.add(app, action);
    std::set<std::string> declared(group.names.begin(), group.names.end());
    EXPECT_EQ(Registered(app), declared) << "group of " << group.names.front();
  }
}

TEST(CommandGroupsTest, NoNameIsInTwoGroups) {
  std::set<std::string_view> seen;
  for (const CommandGroup& group : CommandGroups()) {
    for (std::string_view name : group.names) EXPECT_TRUE(seen.insert(name).second) << name;
  }
}

TEST(CommandGroupsTest, ACommandLineGetsOnlyTheGroupItNames) {
  std::set<std::string> run = RegisteredFor({"-a", "/s.sock", "run", "--rm", "img", "true"});
  EXPECT_EQ(run, (std::set<std::string>{"run", "create", "start"}));
  // A word that happens to be an option's value pulls in its group too; the command keeps its.
  std::set<std::string> two = RegisteredFor({"-n", "ps", "version"});
  EXPECT_EQ(two, (std::set<std::string>{"version", "ps", "inspect", "rm", "wait"}));
}

TEST(CommandGroupsTest, WithoutACommandEveryGroupIsThere) {
  std::set<std::string> all;
  for (const CommandGroup& group : CommandGroups()) {
    all.insert(group.names.begin(), group.names.end());
  }
  EXPECT_EQ(RegisteredFor({}), all);
  EXPECT_EQ(RegisteredFor({"--help"}), all);
  EXPECT_EQ(RegisteredFor({"-n", "x", "nosuchcommand"}), all);
  EXPECT_EQ(all.size(), 25u);  // 25 commands and aliases today
}

}  // namespace
}  // namespace berth::ctl
