#include <cstdio>

#include "runtime/oci/cli/cli.h"
#include "runtime/oci/container.h"

namespace berth::oci::cli {

void SetupState(CLI::App& cmd, const Globals& g, VerbRun* run) {
  auto id = std::make_shared<std::string>();
  cmd.add_option("container-id", *id, "the container's unique name")->required();
  cmd.callback([id, &g, run] {
    *run = [id, &g]() -> absl::StatusOr<int> {
      absl::StatusOr<ContainerState> state = Runtime(g.root).State(*id);
      if (!state.ok()) return state.status();
      printf("%s\n", OciStateJson(*state, /*pretty=*/true).c_str());
      return 0;
    };
  });
}

}  // namespace berth::oci::cli
