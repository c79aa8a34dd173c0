#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "runtime/oci/cli/cli.h"
#include "runtime/oci/spec.h"

namespace berth::oci::cli {

void SetupSpec(CLI::App& cmd, const Globals& g, VerbRun* run) {
  struct Flags {
    std::string bundle;
    bool rootless = false;
  };
  auto f = std::make_shared<Flags>();
  cmd.add_option("-b,--bundle", f->bundle, "path to the root of the bundle directory");
  cmd.add_flag("--rootless", f->rootless, "generate a configuration for a rootless container");
  cmd.callback([f, run] {
    *run = [f]() -> absl::StatusOr<int> {
      std::string path = f->bundle.empty() ? "config.json" : JoinPath(f->bundle, "config.json");
      if (PathExists(path)) {
        return absl::AlreadyExistsError("File config.json exists. Remove it first");
      }
      RETURN_IF_ERROR(WriteFileAtomic(path, DefaultSpecJson(f->rootless), 0666));
      return 0;
    };
  });
}

}  // namespace berth::oci::cli
