#include "runtime/shim/flags.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace berth::shim {

absl::StatusOr<Flags> ParseFlags(int argc, char** argv) {
  Flags flags;
  flags.argv.assign(argv, argv + argc);
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (!absl::StartsWith(arg, "-")) {
      if (!flags.verb.empty()) return absl::InvalidArgumentError(absl::StrCat("extra argument ", arg));
      flags.verb = std::string(arg);
      continue;
    }
    absl::string_view name = absl::StripPrefix(absl::StripPrefix(arg, "-"), "-");
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != absl::string_view::npos) {
      value = std::string(name.substr(eq + 1));
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "debug" || name == "spare") {
      (name == "debug" ? flags.debug : flags.spare) =
          !has_value || value == "true" || value == "1";
      continue;
    }
    std::string* target = name == "namespace"        ? &flags.ns
                          : name == "address"        ? &flags.address
                          : name == "publish-binary" ? &flags.publish_binary
                          : name == "id"             ? &flags.id
                          : name == "bundle"         ? &flags.bundle
                          : name == "socket"         ? &flags.socket
                          : name == "spare-room"     ? &flags.spare_room
                                                     : nullptr;
    if (target == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag -", name));
    }
    if (!has_value) {
      if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat("flag -", name, " needs a value"));
      value = argv[++i];
    }
    *target = std::move(value);
  }
  if (flags.id.empty()) return absl::InvalidArgumentError("missing -id");
  if (flags.ns.empty()) flags.ns = "default";
  if (flags.bundle.empty()) {
    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)) == nullptr) return absl::InternalError("getcwd failed");
    flags.bundle = cwd;
  }
  if (const char* ttrpc = getenv("TTRPC_ADDRESS"); ttrpc != nullptr) flags.ttrpc_address = ttrpc;
  return flags;
}

}  // namespace berth::shim
