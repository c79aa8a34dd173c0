// libseccomp filter from the spec: default action, per-syscall rules with argument
// comparisons, architectures, flags and errnoRet; compiled to BPF ahead of the clone and
// loaded with seccomp(2) by the container's process.

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"
#include "runtime/oci/linux/seccomp_cache.h"
#include "runtime/oci/linux/security.h"

#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif

namespace berth::oci {
namespace {

absl::Status Invalid(absl::string_view what, absl::string_view value) {
  return absl::InvalidArgumentError(absl::StrCat("seccomp: unknown ", what, " `", value, "`"));
}

absl::StatusOr<uint32_t> Action(const std::string& name, std::optional<uint32_t> errno_ret) {
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  return Invalid("action", name);
}

absl::StatusOr<scmp_compare> Operator(const std::string& op) {
  if (op == "SCMP_CMP_NE") return SCMP_CMP_NE;
  if (op == "SCMP_CMP_LT") return SCMP_CMP_LT;
  if (op == "SCMP_CMP_LE") return SCMP_CMP_LE;
  if (op == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
  if (op == "SCMP_CMP_GE") return SCMP_CMP_GE;
  if (op == "SCMP_CMP_GT") return SCMP_CMP_GT;
  if (op == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
  return Invalid("operator", op);
}

absl::StatusOr<uint32_t> Arch(const std::string& name) {
  // "SCMP_ARCH_X86_64" -> libseccomp's "x86_64".
  std::string lower = name.rfind("SCMP_ARCH_", 0) == 0 ? name.substr(10) : name;
  for (char& c : lower) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  uint32_t arch = seccomp_arch_resolve_name(lower.c_str());
  if (arch == 0) return Invalid("architecture", name);
  return arch;
}

// Comparisons on distinct arguments are ANDed in one rule; several on the same argument
// become one rule each (ORed), as runc and crun do, since libseccomp rejects the former.
std::vector<std::vector<scmp_arg_cmp>> RuleSets(const std::vector<scmp_arg_cmp>& cmps) {
  bool repeated = false;
  for (size_t i = 0; i < cmps.size() && !repeated; ++i) {
    for (size_t j = i + 1; j < cmps.size(); ++j) {
      repeated = repeated || cmps[i].arg == cmps[j].arg;
    }
  }
  if (!repeated) return {cmps};
  std::vector<std::vector<scmp_arg_cmp>> sets;
  for (const scmp_arg_cmp& c : cmps) sets.push_back({c});
  return sets;
}

absl::Status AddRule(scmp_filter_ctx ctx, const SeccompSyscall& sc, uint32_t default_action) {
  ASSIGN_OR_RETURN(uint32_t action, Action(sc.action, sc.errno_ret));
  std::vector<scmp_arg_cmp> cmps;
  for (const SeccompArg& a : sc.args) {
    ASSIGN_OR_RETURN(scmp_compare op, Operator(a.op));
    cmps.push_back(scmp_arg_cmp{a.index, op, a.value, a.value_two});
  }
  for (const std::string& name : sc.names) {
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) {
      continue;  // Unknown on this kernel/arch: skipped, as runc and crun do.
    }
    if (action == default_action) continue;
    for (const std::vector<scmp_arg_cmp>& set : RuleSets(cmps)) {
      int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(set.size()),
                                      set.data());
      if (rc != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("seccomp: add rule for `", name, "`: ", strerror(-rc)));
      }
    }
  }
  return absl::OkStatus();
}

// The filter flags seccomp(2) takes for the profile's flags. TSYNC is not needed: the
// process that loads the filter has one thread.
absl::StatusOr<unsigned int> FilterFlags(const Seccomp& s) {
  unsigned int flags = 0;
  for (const std::string& f : s.flags) {
    if (f == "SECCOMP_FILTER_FLAG_LOG") {
      flags |= SECCOMP_FILTER_FLAG_LOG;
    } else if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
      flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    } else if (f != "SECCOMP_FILTER_FLAG_TSYNC") {
      return Invalid("flag", f);
    }
  }
  return flags;
}

// libseccomp 2.5 exports a program only to an fd.
absl::StatusOr<std::vector<sock_filter>> ExportBpf(scmp_filter_ctx ctx) {
  UniqueFd fd(memfd_create("seccomp-bpf", MFD_CLOEXEC));
  if (!fd) return ErrnoError(errno, "memfd_create");
  if (int rc = seccomp_export_bpf(ctx, fd.get()); rc != 0) {
    return absl::ErrnoToStatus(-rc, "seccomp: export filter");
  }
  off_t size = lseek(fd.get(), 0, SEEK_CUR);
  if (size <= 0 || size % sizeof(sock_filter) != 0) {
    return absl::InternalError("seccomp: exported filter has a bad size");
  }
  std::vector<sock_filter> code(static_cast<size_t>(size) / sizeof(sock_filter));
  if (pread(fd.get(), code.data(), static_cast<size_t>(size), 0) != size) {
    return ErrnoError(errno, "read", "seccomp filter");
  }
  return code;
}

absl::StatusOr<SeccompProgram> Compile(const Seccomp& s) {
  ASSIGN_OR_RETURN(uint32_t default_action, Action(s.default_action, s.default_errno_ret));
  SeccompProgram program;
  ASSIGN_OR_RETURN(program.flags, FilterFlags(s));
  scmp_filter_ctx ctx = seccomp_init(default_action);
  if (ctx == nullptr) {
    return absl::InternalError("seccomp_init failed");
  }
  absl::Cleanup release = [ctx] { seccomp_release(ctx); };
  if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, kSeccompOptimizeLevel) != 0) {
    return absl::InternalError("seccomp: libseccomp cannot build a binary-tree filter");
  }
  for (const std::string& a : s.architectures) {
    ASSIGN_OR_RETURN(uint32_t arch, Arch(a));
    int rc = seccomp_arch_add(ctx, arch);
    if (rc != 0 && rc != -EEXIST) {
      return absl::InvalidArgumentError(absl::StrCat("seccomp: add architecture `", a, "`"));
    }
  }
  for (const SeccompSyscall& sc : s.syscalls) {
    RETURN_IF_ERROR(AddRule(ctx, sc, default_action));
  }
  ASSIGN_OR_RETURN(program.code, ExportBpf(ctx));
  return program;
}

}  // namespace

absl::StatusOr<SeccompProgram> CompileSeccomp(const Seccomp& seccomp,
                                              const std::string& cache_dir) {
  if (cache_dir.empty()) return Compile(seccomp);
  std::string key = SeccompCacheKey(seccomp);
  if (std::optional<SeccompProgram> cached = ReadCachedSeccomp(cache_dir, key)) return *cached;
  ASSIGN_OR_RETURN(SeccompProgram program, Compile(seccomp));
  StoreCachedSeccomp(cache_dir, key, program);
  return program;
}

absl::Status LoadSeccomp(const SeccompProgram& program) {
  sock_fprog prog{static_cast<unsigned short>(program.code.size()),
                  const_cast<sock_filter*>(program.code.data())};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program.flags, &prog) != 0) {
    return ErrnoError(errno, "seccomp: load filter");
  }
  return absl::OkStatus();
}

}  // namespace berth::oci
