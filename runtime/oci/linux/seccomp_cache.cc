#include "runtime/oci/linux/seccomp_cache.h"

#include <seccomp.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "plugins/base/file_util.h"

namespace berth::oci {
namespace {

constexpr char kMagic[8] = {'B', 'E', 'R', 'T', 'H', 'B', 'P', 'F'};
constexpr size_t kHeaderSize = sizeof(kMagic) + 3 * sizeof(uint32_t);
constexpr size_t kMaxInstructions = 65536;  // far above BPF_MAXINSNS: a sanity bound

// Length-prefixed, so that no two different field lists encode the same.
void Put(std::string* out, absl::string_view field) {
  absl::StrAppend(out, field.size(), ":", field, ";");
}

void PutList(std::string* out, const std::vector<std::string>& fields) {
  Put(out, absl::StrCat(fields.size()));
  for (const std::string& field : fields) Put(out, field);
}

void PutErrno(std::string* out, const std::optional<uint32_t>& errno_ret) {
  Put(out, errno_ret.has_value() ? absl::StrCat(*errno_ret) : "-");
}

void PutSyscall(std::string* out, const SeccompSyscall& sc) {
  Put(out, sc.action);
  PutErrno(out, sc.errno_ret);
  PutList(out, sc.names);
  Put(out, absl::StrCat(sc.args.size()));
  for (const SeccompArg& a : sc.args) {
    Put(out, absl::StrCat(a.index, ",", a.value, ",", a.value_two));
    Put(out, a.op);
  }
}

// libseccomp, kernel and architecture: what the same profile compiles differently under.
std::string Environment() {
  const scmp_version* v = seccomp_version();
  std::string out = absl::StrCat("libseccomp ", v->major, ".", v->minor, ".", v->micro,
                                 " api ", seccomp_api_get(), " optimize ", kSeccompOptimizeLevel);
  struct utsname u;
  if (uname(&u) == 0) absl::StrAppend(&out, " ", u.release, " ", u.version, " ", u.machine);
  return out;
}

std::string FileName(const std::string& dir, const std::string& key) {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a: only names the file, the key decides
  for (unsigned char c : key) hash = (hash ^ c) * 1099511628211ull;
  return JoinPath(dir, absl::StrFormat("%016x.bpf", hash));
}

uint32_t GetU32(const std::string& data, size_t at) {
  uint32_t v;
  memcpy(&v, data.data() + at, sizeof(v));
  return v;
}

void PutU32(std::string* out, uint32_t v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(v));
}

// The directory, made if missing (its parent as the runtime makes its root), if only the
// caller can write it.
bool UsableDir(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    size_t slash = dir.rfind('/');
    if (errno != ENOENT || slash == 0 || slash == std::string::npos ||
        !MkdirAll(dir.substr(0, slash), 0711).ok()) {
      return false;
    }
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return false;
  }
  struct stat st;
  return lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
         (st.st_mode & 022) == 0;
}

}  // namespace

std::string SeccompCacheKey(const Seccomp& s) {
  std::string key;
  Put(&key, Environment());
  Put(&key, s.default_action);
  PutErrno(&key, s.default_errno_ret);
  PutList(&key, s.architectures);
  PutList(&key, s.flags);
  Put(&key, absl::StrCat(s.syscalls.size()));
  for (const SeccompSyscall& sc : s.syscalls) PutSyscall(&key, sc);
  return key;
}

std::optional<SeccompProgram> ReadCachedSeccomp(const std::string& dir, const std::string& key) {
  if (!UsableDir(dir)) return std::nullopt;
  absl::StatusOr<std::string> data = ReadFile(FileName(dir, key));
  if (!data.ok() || data->size() < kHeaderSize ||
      memcmp(data->data(), kMagic, sizeof(kMagic)) != 0) {
    return std::nullopt;
  }
  uint32_t key_size = GetU32(*data, sizeof(kMagic));
  uint32_t count = GetU32(*data, sizeof(kMagic) + 8);
  if (key_size != key.size() || count == 0 || count > kMaxInstructions ||
      data->size() != kHeaderSize + key_size + count * sizeof(sock_filter) ||
      data->compare(kHeaderSize, key_size, key) != 0) {
    return std::nullopt;
  }
  SeccompProgram program;
  program.flags = GetU32(*data, sizeof(kMagic) + 4);
  program.code.resize(count);
  memcpy(program.code.data(), data->data() + kHeaderSize + key_size, count * sizeof(sock_filter));
  return program;
}

void StoreCachedSeccomp(const std::string& dir, const std::string& key,
                        const SeccompProgram& program) {
  if (program.code.empty() || program.code.size() > kMaxInstructions || !UsableDir(dir)) return;
  std::string data(kMagic, sizeof(kMagic));
  PutU32(&data, static_cast<uint32_t>(key.size()));
  PutU32(&data, program.flags);
  PutU32(&data, static_cast<uint32_t>(program.code.size()));
  data += key;
  data.append(reinterpret_cast<const char*>(program.code.data()),
              program.code.size() * sizeof(sock_filter));
  (void)WriteFileReplace(FileName(dir, key), data, 0600);
}

}  // namespace berth::oci
