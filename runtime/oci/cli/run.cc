#include "runtime/oci/cli/cli.h"
#include "runtime/oci/container.h"

namespace berth::oci::cli {

CreateOptions ToCreateOptions(const CreateFlags& f);

void SetupRun(CLI::App& cmd, const Globals& g, VerbRun* run) {
  struct Flags : CreateFlags {
    bool detach = false;
    bool keep = false;
  };
  auto f = std::make_shared<Flags>();
  AddCreateFlags(cmd, f.get());
  cmd.add_flag("-d,--detach", f->detach, "detach from the container's process");
  cmd.add_flag("--keep", f->keep, "do not delete the container after it exits");
  cmd.callback([f, &g, run] {
    *run = [f, &g]() -> absl::StatusOr<int> {
      Runtime runtime(g.root);
      return runtime.Run(f->id, ToCreateOptions(*f), f->detach, f->keep);
    };
  });
}

}  // namespace berth::oci::cli
