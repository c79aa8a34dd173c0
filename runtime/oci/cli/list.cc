#include <cstdio>

#include <nlohmann/json.hpp>

#include "runtime/oci/cli/cli.h"
#include "runtime/oci/container.h"

namespace berth::oci::cli {

void SetupList(CLI::App& cmd, const Globals& g, VerbRun* run) {
  struct Flags {
    std::string format = "table";
    bool quiet = false;
  };
  auto f = std::make_shared<Flags>();
  cmd.add_option("-f,--format", f->format, "select one of: table or json");
  cmd.add_flag("-q,--quiet", f->quiet, "display only container IDs");
  cmd.callback([f, &g, run] {
    *run = [f, &g]() -> absl::StatusOr<int> {
      Runtime runtime(g.root);
      nlohmann::json all = nlohmann::json::array();
      if (!f->quiet && f->format != "json") printf("ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n");
      for (const std::string& id : runtime.List()) {
        absl::StatusOr<ContainerState> s = runtime.State(id);
        if (!s.ok()) continue;
        if (f->quiet) {
          printf("%s\n", id.c_str());
        } else if (f->format == "json") {
          all.push_back(nlohmann::json::parse(OciStateJson(*s, false), nullptr, false));
        } else {
          printf("%s\t%d\t%s\t%s\t%s\t%s\n", id.c_str(),
                 s->status == ContainerStatus::kStopped ? 0 : s->pid, StatusName(s->status),
                 s->bundle.c_str(), s->created.c_str(), s->owner.c_str());
        }
      }
      if (f->format == "json" && !f->quiet) printf("%s\n", all.dump().c_str());
      return 0;
    };
  });
}

}  // namespace berth::oci::cli
