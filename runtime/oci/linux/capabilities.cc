#include <sys/capability.h>
#include <sys/prctl.h>

#include <cerrno>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "plugins/base/status_util.h"
#include "runtime/oci/linux/security.h"

namespace berth::oci {
namespace {

bool Contains(const std::vector<int>& set, int cap) {
  for (int c : set) {
    if (c == cap) return true;
  }
  return false;
}

absl::Status SetFlag(cap_t caps, cap_flag_t flag, const std::vector<int>& values) {
  if (values.empty()) {
    return absl::OkStatus();
  }
  std::vector<cap_value_t> list(values.begin(), values.end());
  if (cap_set_flag(caps, flag, static_cast<int>(list.size()), list.data(), CAP_SET) != 0) {
    return ErrnoError(errno, "cap_set_flag");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DropBoundingSet(const Capabilities& caps) {
  const int last = static_cast<int>(cap_max_bits()) - 1;
  for (int cap = 0; cap <= last; ++cap) {
    if (Contains(caps.bounding, cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      return ErrnoError(errno, absl::StrCat("drop capability ", cap, " from the bounding set"));
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyCapabilities(const Capabilities& c) {
  cap_t caps = cap_init();
  if (caps == nullptr) {
    return ErrnoError(errno, "cap_init");
  }
  absl::Cleanup free_caps = [caps] { cap_free(caps); };
  if (absl::Status s = SetFlag(caps, CAP_EFFECTIVE, c.effective); !s.ok()) return s;
  if (absl::Status s = SetFlag(caps, CAP_PERMITTED, c.permitted); !s.ok()) return s;
  if (absl::Status s = SetFlag(caps, CAP_INHERITABLE, c.inheritable); !s.ok()) return s;
  if (cap_set_proc(caps) != 0) {
    return ErrnoError(errno, "set process capabilities");
  }
  if (cap_reset_ambient() != 0 && errno != EINVAL) {
    return ErrnoError(errno, "reset ambient capabilities");
  }
  for (int cap : c.ambient) {
    // As runc and crun: an ambient capability missing from permitted/inheritable is skipped.
    (void)cap_set_ambient(static_cast<cap_value_t>(cap), CAP_SET);
  }
  return absl::OkStatus();
}

}  // namespace berth::oci
