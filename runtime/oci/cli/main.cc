// berth-runtime: a runc-compatible OCI runtime CLI over berth::oci::Runtime.

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "plugins/base/log.h"
#include "plugins/base/utc_time.h"
#include "runtime/oci/cli/cli.h"
#include "runtime/oci/linux/sealed_exe.h"
#include "runtime/oci/state_store.h"

namespace berth::oci::cli {
namespace {

constexpr Verb kVerbs[] = {
    {"create", "create a container", SetupCreate},
    {"start", "executes the user defined process in a created container", SetupStart},
    {"run", "create and run a container", SetupRun},
    {"state", "output the state of a container", SetupState},
    {"kill", "kill sends the specified signal (default: SIGTERM) to the container's init process",
     SetupKill},
    {"delete", "delete any resources held by the container", SetupDelete},
    {"exec", "execute new process inside the container", SetupExec},
    {"ps", "ps displays the processes running inside a container", SetupPs},
    {"pause", "pause suspends all processes inside the container", SetupPause},
    {"resume", "resumes all processes that have been previously paused", SetupResume},
    {"update", "update container resource constraints", SetupUpdate},
    {"features", "show the enabled features", SetupFeatures},
    {"spec", "create a new specification file", SetupSpec},
    {"list", "lists containers started by berth-runtime with the given root", SetupList},
    {"events", "display container events such as OOM notifications and resource stats",
     SetupEvents},
};

std::string JsonEscape(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(&out, " ");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Errors go to stderr and, like runc, to --log (as JSON with --log-format json, which is what
// containerd's shim reads back).
void ReportError(const Globals& g, absl::string_view message) {
  std::string time = NowUtc(9);
  if (!g.log.empty()) {
    std::ofstream log(g.log, std::ios::app);
    if (g.log_format == "json") {
      log << "{\"level\":\"error\",\"msg\":\"" << JsonEscape(message) << "\",\"time\":\"" << time
          << "\"}\n";
    } else {
      log << "time=\"" << time << "\" level=error msg=\"" << JsonEscape(message) << "\"\n";
    }
  }
  fprintf(stderr, "berth-runtime: %.*s\n", static_cast<int>(message.size()), message.data());
}

// Verbs that fork processes into a container: they must run from a sealed binary. Matching
// any argument errs on the safe side (an option value that happens to be a verb name).
bool StartsContainerProcesses(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "create" || arg == "run" || arg == "exec") return true;
  }
  return false;
}

int Main(int argc, char** argv) {
  log::SetProgramName("berth-runtime");
  if (StartsContainerProcesses(argc, argv)) {
    if (absl::Status s = ReexecSealed(argv); !s.ok()) {
      fprintf(stderr, "berth-runtime: %.*s\n", static_cast<int>(s.message().size()),
              s.message().data());
      return 1;
    }
  }
  CLI::App app("berth-runtime: an OCI container runtime (runc-compatible command line)",
               "berth-runtime");
  app.require_subcommand(1);
  app.set_version_flag("-v,--version", "berth-runtime version 0.1.0\nspec: 1.1.0");
  Globals g;
  app.add_option("--root", g.root, "root directory for storage of container state");
  app.add_option("--log", g.log, "set the log file to write runtime logs to");
  app.add_option("--log-format", g.log_format, "set the log format ('text' or 'json')");
  app.add_flag("--debug", g.debug, "enable debug logging");
  app.add_flag("--systemd-cgroup", g.systemd_cgroup, "use systemd cgroup driver (unsupported)");
  app.add_option("--rootless", g.rootless, "ignore cgroup permission errors");
  app.add_option("--criu", "path to criu binary (ignored)");
  VerbRun run;
  for (const Verb& verb : kVerbs) {
    verb.setup(*app.add_subcommand(verb.name, verb.help), g, &run);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {  // The parse boundary: CLI11 reports with exceptions.
    return app.exit(e);
  }
  if (g.debug) log::SetLevel(log::Level::kDebug);
  if (!run) return 1;
  absl::StatusOr<int> code = run();
  if (!code.ok()) {
    ReportError(g, code.status().message());
    return 1;
  }
  return *code;
}

}  // namespace
}  // namespace berth::oci::cli

int main(int argc, char** argv) { return berth::oci::cli::Main(argc, argv); }
