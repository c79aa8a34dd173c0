#include "ctl/commands/seccomp_default.h"

#include <sched.h>

#include <cerrno>

#include "absl/strings/str_split.h"

namespace berth::ctl {
namespace {

using nlohmann::json;

// Allowed for every container (space-separated; kept as one literal so the table stays short).
constexpr const char kAllowed[] =
    "accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32 "
    "clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime "
    "clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect "
    "copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old "
    "epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit "
    "exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir "
    "fchmod fchmodat fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock "
    "fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate "
    "ftruncate64 futex futex_time64 futex_waitv futimesat getcpu getcwd getdents getdents64 "
    "getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer "
    "getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid getresgid32 "
    "getresuid getresuid32 getrlimit get_robust_list getrusage getsid getsockname getsockopt "
    "get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init "
    "inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents "
    "io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit io_uring_enter "
    "io_uring_register io_uring_setup ipc kill landlock_add_rule landlock_create_ruleset "
    "landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr llistxattr "
    "_llseek lremovexattr lseek lsetxattr lstat lstat64 madvise membarrier memfd_create "
    "memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect "
    "mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend "
    "mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall "
    "munmap nanosleep newfstatat _newselect open openat openat2 pause pidfd_open "
    "pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 "
    "prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 "
    "pwritev pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg "
    "recvmmsg_time64 recvmsg remap_file_pages removexattr rename renameat renameat2 "
    "restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo "
    "rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo "
    "sched_getaffinity sched_getattr sched_getparam sched_get_priority_max "
    "sched_get_priority_min sched_getscheduler sched_rr_get_interval "
    "sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam "
    "sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop "
    "semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 "
    "setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority "
    "setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 "
    "setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setuid32 "
    "setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask "
    "sigreturn socket socketcall socketpair splice stat stat64 statfs statfs64 statx symlink "
    "symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete "
    "timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create "
    "timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate "
    "truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat utimensat_time64 utimes "
    "vfork vmsplice wait4 waitid waitpid write writev ";
// Capability -> syscalls it unlocks.
constexpr std::pair<const char*, const char*> kByCapability[] = {
    {"CAP_DAC_READ_SEARCH", "open_by_handle_at"},
    {"CAP_SYS_ADMIN",
     "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount "
     "mount_setattr move_mount name_to_handle_at open_tree perf_event_open quotactl quotactl_fd "
     "setdomainname sethostname setns syslog umount umount2 unshare"},
    {"CAP_SYS_BOOT", "reboot"},
    {"CAP_SYS_CHROOT", "chroot"},
    {"CAP_SYS_MODULE", "delete_module init_module finit_module"},
    {"CAP_SYS_PACCT", "acct"},
    {"CAP_SYS_PTRACE", "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace"},
    {"CAP_SYS_RAWIO", "iopl ioperm"},
    {"CAP_SYS_TIME", "settimeofday stime clock_settime clock_settime64"},
    {"CAP_SYS_TTY_CONFIG", "vhangup"},
    {"CAP_SYS_NICE", "get_mempolicy mbind set_mempolicy"},
    {"CAP_SYSLOG", "syslog"},
    {"CAP_BPF", "bpf"},
    {"CAP_PERFMON", "perf_event_open"},
};

// personality(2) personas that do not weaken the container: PER_LINUX, PER_LINUX32,
// UNAME26, UNAME26|PER_LINUX32, and the query value 0xffffffff.
constexpr unsigned kPersonalities[] = {0x0, 0x0008, 0x20000, 0x20008, 0xffffffff};

constexpr unsigned kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                     CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

json Allow(absl::string_view names) {
  return {{"names", absl::StrSplit(names, ' ', absl::SkipEmpty())}, {"action", "SCMP_ACT_ALLOW"}};
}

json ArgRule(const char* name, unsigned index, uint64_t value, uint64_t value_two, const char* op) {
  return {{"names", {name}},
          {"action", "SCMP_ACT_ALLOW"},
          {"args", {{{"index", index}, {"value", value}, {"valueTwo", value_two}, {"op", op}}}}};
}

// Architectures and arch-only syscalls of the host (what the profile was compiled for).
void AddArchitecture(json& profile) {
#if defined(__x86_64__)
  profile["architectures"] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  profile["syscalls"].push_back(Allow("arch_prctl modify_ldt"));
#elif defined(__aarch64__)
  profile["architectures"] = {"SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64"};
  profile["syscalls"].push_back(Allow(
      "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls"));
#else
  profile["architectures"] = json::array();
#endif
}

}  // namespace

json DefaultSeccompProfile(const std::vector<std::string>& capabilities) {
  json profile = {{"defaultAction", "SCMP_ACT_ERRNO"},
                  {"defaultErrnoRet", EPERM},
                  {"syscalls", json::array()}};
  profile["syscalls"].push_back(Allow(kAllowed));
  for (unsigned persona : kPersonalities) {
    profile["syscalls"].push_back(ArgRule("personality", 0, persona, 0, "SCMP_CMP_EQ"));
  }
  // ptrace is safe from kernel 4.8 on (seccomp runs after the tracer's changes); older kernels
  // are long out of support.
  profile["syscalls"].push_back(Allow("ptrace"));
  AddArchitecture(profile);
  bool admin = false;
  for (const std::string& capability : capabilities) {
    if (capability == "CAP_SYS_ADMIN") admin = true;
    for (const auto& [name, syscalls] : kByCapability) {
      if (capability == name) profile["syscalls"].push_back(Allow(syscalls));
    }
  }
  if (!admin) {
    // clone without namespace flags only; clone3's flags live in memory seccomp cannot read,
    // so it answers ENOSYS and libcs fall back to clone.
    profile["syscalls"].push_back(ArgRule("clone", 0, kNamespaceFlags, 0, "SCMP_CMP_MASKED_EQ"));
    profile["syscalls"].push_back(
        {{"names", {"clone3"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", ENOSYS}});
  }
  return profile;
}

}  // namespace berth::ctl
