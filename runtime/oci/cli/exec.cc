#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "runtime/oci/cli/cli.h"
#include "runtime/oci/container.h"

namespace berth::oci::cli {
namespace {

struct Flags {
  std::string process_file;
  std::string console_socket;
  std::string pid_file;
  std::string cwd;
  std::string user;
  std::vector<std::string> env;
  std::vector<std::string> caps;
  std::vector<uint32_t> additional_gids;
  bool tty = false;
  bool detach = false;
  bool no_new_privs = false;
  int preserve_fds = 0;
};

absl::Status ApplyFlags(const Flags& f, std::vector<std::string> args, Process* p) {
  p->args = std::move(args);
  p->terminal = f.tty;
  if (!f.cwd.empty()) p->cwd = f.cwd;
  for (const std::string& e : f.env) p->env.push_back(e);
  if (!f.user.empty()) {
    std::pair<std::string, std::string> ug = absl::StrSplit(f.user, ':');
    if (!absl::SimpleAtoi(ug.first, &p->user.uid) ||
        (!ug.second.empty() && !absl::SimpleAtoi(ug.second, &p->user.gid))) {
      return absl::InvalidArgumentError("--user must be uid[:gid]");
    }
  }
  if (!f.additional_gids.empty()) p->user.additional_gids = f.additional_gids;
  if (f.no_new_privs) p->no_new_privileges = true;
  for (const std::string& name : f.caps) {
    ASSIGN_OR_RETURN(int cap, CapabilityFromName(name));
    if (!p->capabilities) p->capabilities = Capabilities{};
    for (auto* set : {&p->capabilities->bounding, &p->capabilities->effective,
                      &p->capabilities->permitted}) {
      set->push_back(cap);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> RunExec(const Globals& g, const Flags& f, std::vector<std::string> rest) {
  if (rest.empty()) return absl::InvalidArgumentError("exec: missing container id");
  std::string id = rest[0];
  rest.erase(rest.begin());
  Runtime runtime(g.root);
  ExecOptions options;
  if (!f.process_file.empty()) {
    ASSIGN_OR_RETURN(std::string text, ReadFile(f.process_file));
    ASSIGN_OR_RETURN(options.process, ParseProcess(text));
  } else {
    if (rest.empty()) return absl::InvalidArgumentError("exec: missing the command to run");
    ASSIGN_OR_RETURN(ContainerState state, runtime.State(id));
    ASSIGN_OR_RETURN(Spec spec, ParseSpec(state.config_json));
    options.process = spec.process.value_or(Process{});
    RETURN_IF_ERROR(ApplyFlags(f, std::move(rest), &options.process));
  }
  options.console_socket = f.console_socket;
  options.pid_file = f.pid_file;
  options.detach = f.detach;
  options.preserve_fds = f.preserve_fds;
  ASSIGN_OR_RETURN(ExecResult result, runtime.Exec(id, options));
  return result.exit_code;
}

}  // namespace

void SetupExec(CLI::App& cmd, const Globals& g, VerbRun* run) {
  auto f = std::make_shared<Flags>();
  cmd.prefix_command();  // `exec [flags] <id> <command> [args...]`: stop at the id.
  cmd.add_option("-p,--process", f->process_file, "path to the process.json");
  cmd.add_option("--console-socket", f->console_socket, "socket receiving the pty master");
  cmd.add_option("--pid-file", f->pid_file, "file to write the process id to");
  cmd.add_option("--cwd", f->cwd, "current working directory in the container");
  cmd.add_option("-u,--user", f->user, "UID (format: <uid>[:<gid>])");
  // Like runc's repeatable flags, each occurrence takes one value (`--cap X id cmd` must not
  // swallow the id and the command).
  cmd.add_option("-e,--env", f->env, "set environment variables")
      ->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd.add_option("-c,--cap", f->caps, "add a capability to the bounding set for the process")
      ->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd.add_option("-g,--additional-gids", f->additional_gids, "additional gids")
      ->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd.add_flag("-t,--tty", f->tty, "allocate a pseudo-TTY");
  cmd.add_flag("-d,--detach", f->detach, "detach from the container's process");
  cmd.add_flag("--no-new-privs", f->no_new_privs, "set the no new privileges value");
  cmd.add_option("--preserve-fds", f->preserve_fds, "pass N additional file descriptors");
  cmd.callback([f, &g, run, &cmd] {
    std::vector<std::string> rest = cmd.remaining();
    *run = [f, &g, rest]() { return RunExec(g, *f, rest); };
  });
}

}  // namespace berth::oci::cli
