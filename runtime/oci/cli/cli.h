#pragma once

// berth-runtime's command line: runc's verbs and flags. main.cc parses the global flags and
// dispatches to one small file per verb through the table below; verbs only translate flags
// into calls on berth::oci::Runtime and print results the way runc does.

#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "absl/status/statusor.h"

namespace berth::oci::cli {

struct Globals {
  std::string root = "/run/berth-runtime";
  std::string log;
  std::string log_format = "text";
  bool debug = false;
  bool systemd_cgroup = false;
  std::string rootless = "auto";
};

// Runs the verb after parsing; returns the process exit code.
using VerbRun = std::function<absl::StatusOr<int>()>;

// Adds the verb's flags and positionals to `cmd` and sets `*run`.
using VerbSetup = void (*)(CLI::App& cmd, const Globals& globals, VerbRun* run);

struct Verb {
  const char* name;
  const char* help;
  VerbSetup setup;
};

void SetupCreate(CLI::App&, const Globals&, VerbRun*);
void SetupStart(CLI::App&, const Globals&, VerbRun*);
void SetupRun(CLI::App&, const Globals&, VerbRun*);
void SetupState(CLI::App&, const Globals&, VerbRun*);
void SetupKill(CLI::App&, const Globals&, VerbRun*);
void SetupDelete(CLI::App&, const Globals&, VerbRun*);
void SetupExec(CLI::App&, const Globals&, VerbRun*);
void SetupPs(CLI::App&, const Globals&, VerbRun*);
void SetupPause(CLI::App&, const Globals&, VerbRun*);
void SetupResume(CLI::App&, const Globals&, VerbRun*);
void SetupUpdate(CLI::App&, const Globals&, VerbRun*);
void SetupFeatures(CLI::App&, const Globals&, VerbRun*);
void SetupSpec(CLI::App&, const Globals&, VerbRun*);
void SetupList(CLI::App&, const Globals&, VerbRun*);
void SetupEvents(CLI::App&, const Globals&, VerbRun*);

// Shared create/run flags.
struct CreateFlags {
  std::string id;
  std::string bundle;
  std::string console_socket;
  std::string pid_file;
  int preserve_fds = 0;
  bool no_pivot = false;
  bool no_new_keyring = false;
};
void AddCreateFlags(CLI::App& cmd, CreateFlags* flags);

}  // namespace berth::oci::cli
