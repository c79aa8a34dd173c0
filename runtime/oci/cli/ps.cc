#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "plugins/base/status_util.h"
#include "runtime/oci/cli/cli.h"
#include "runtime/oci/container.h"

namespace berth::oci::cli {
namespace {

// Table format: run `ps <args>` (default -ef) and keep the header and the container's lines,
// as runc does.
absl::StatusOr<int> PsTable(const std::vector<pid_t>& pids, std::vector<std::string> args) {
  if (args.empty()) args = {"-ef"};
  std::string cmd = "ps";
  for (const std::string& a : args) cmd += " '" + a + "'";
  FILE* out = popen(cmd.c_str(), "r");
  if (out == nullptr) return ErrnoError(errno, "run ps");
  char line[4096];
  int pid_column = -1;
  bool header = true;
  while (fgets(line, sizeof(line), out) != nullptr) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    if (header) {
      for (size_t i = 0; i < fields.size(); ++i) {
        if (fields[i] == "PID") pid_column = static_cast<int>(i);
      }
      fputs(line, stdout);
      header = false;
      continue;
    }
    pid_t pid = 0;
    if (pid_column >= 0 && static_cast<size_t>(pid_column) < fields.size() &&
        absl::SimpleAtoi(fields[pid_column], &pid) &&
        std::find(pids.begin(), pids.end(), pid) != pids.end()) {
      fputs(line, stdout);
    }
  }
  pclose(out);
  if (pid_column < 0) return absl::InvalidArgumentError("ps: couldn't find PID field in ps output");
  return 0;
}

}  // namespace

void SetupPs(CLI::App& cmd, const Globals& g, VerbRun* run) {
  auto format = std::make_shared<std::string>("table");
  cmd.prefix_command();
  cmd.add_option("-f,--format", *format, "select one of: table or json");
  cmd.callback([format, &g, run, &cmd] {
    std::vector<std::string> rest = cmd.remaining();
    *run = [format, &g, rest]() mutable -> absl::StatusOr<int> {
      if (rest.empty()) return absl::InvalidArgumentError("ps: missing container id");
      absl::StatusOr<std::vector<pid_t>> pids = Runtime(g.root).Pids(rest[0]);
      if (!pids.ok()) return pids.status();
      if (*format == "json") {
        printf("%s\n", nlohmann::json(*pids).dump().c_str());
        return 0;
      }
      return PsTable(*pids, std::vector<std::string>(rest.begin() + 1, rest.end()));
    };
  });
}

}  // namespace berth::oci::cli
