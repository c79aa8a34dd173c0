#include <signal.h>
#include <string.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/oci/cli/cli.h"
#include "runtime/oci/container.h"

namespace berth::oci::cli {
namespace {

// "9", "KILL", "SIGKILL", "sigkill" -> 9.
absl::StatusOr<int> ParseSignal(const std::string& text) {
  int number = 0;
  if (absl::SimpleAtoi(text, &number) && number > 0 && number < NSIG) return number;
  std::string name = absl::AsciiStrToUpper(text);
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  for (int sig = 1; sig < NSIG; ++sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev != nullptr && name == abbrev) return sig;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown signal `", text, "`"));
}

}  // namespace

void SetupKill(CLI::App& cmd, const Globals& g, VerbRun* run) {
  struct Flags {
    std::string id;
    std::string signal = "SIGTERM";
    bool all = false;
  };
  auto f = std::make_shared<Flags>();
  cmd.add_option("container-id", f->id, "the container's unique name")->required();
  cmd.add_option("signal", f->signal, "the signal to send (default SIGTERM)");
  cmd.add_flag("-a,--all", f->all, "send the signal to all processes in the container");
  cmd.callback([f, &g, run] {
    *run = [f, &g]() -> absl::StatusOr<int> {
      absl::StatusOr<int> sig = ParseSignal(f->signal);
      if (!sig.ok()) return sig.status();
      absl::Status s = Runtime(g.root).Kill(f->id, *sig, f->all);
      if (!s.ok()) return s;
      return 0;
    };
  });
}

}  // namespace berth::oci::cli
