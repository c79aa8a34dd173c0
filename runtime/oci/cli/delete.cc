#include "runtime/oci/cli/cli.h"
#include "runtime/oci/container.h"

namespace berth::oci::cli {

void SetupDelete(CLI::App& cmd, const Globals& g, VerbRun* run) {
  struct Flags {
    std::string id;
    bool force = false;
  };
  auto f = std::make_shared<Flags>();
  cmd.add_option("container-id", f->id, "the container's unique name")->required();
  cmd.add_flag("-f,--force", f->force, "forcibly delete the container if it is still running");
  cmd.callback([f, &g, run] {
    *run = [f, &g]() -> absl::StatusOr<int> {
      absl::Status s = Runtime(g.root).Delete(f->id, f->force);
      if (absl::IsNotFound(s) && f->force) return 0;  // runc: --force ignores a missing one.
      if (!s.ok()) return s;
      return 0;
    };
  });
}

}  // namespace berth::oci::cli
