#include "runtime/oci/cli/cli.h"
#include "runtime/oci/container.h"

namespace berth::oci::cli {

void SetupStart(CLI::App& cmd, const Globals& g, VerbRun* run) {
  auto id = std::make_shared<std::string>();
  cmd.add_option("container-id", *id, "the container's unique name")->required();
  cmd.callback([id, &g, run] {
    *run = [id, &g]() -> absl::StatusOr<int> {
      absl::Status s = Runtime(g.root).Start(*id);
      if (!s.ok()) return s;
      return 0;
    };
  });
}

}  // namespace berth::oci::cli
