#include "runtime/oci/state_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"
#include "plugins/base/utc_time.h"
#include "runtime/oci/json_reader.h"

namespace berth::oci {
namespace {

using json::Json;

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 1024 || id == "." || id == "..") return false;
  for (char c : id) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '+')) {
      return false;
    }
  }
  return true;
}

ContainerStatus StatusFromName(const std::string& name) {
  if (name == "creating") return ContainerStatus::kCreating;
  if (name == "created") return ContainerStatus::kCreated;
  if (name == "running") return ContainerStatus::kRunning;
  if (name == "paused") return ContainerStatus::kPaused;
  return ContainerStatus::kStopped;
}

Json ToJson(const ContainerState& s) {
  Json j;
  j["ociVersion"] = s.oci_version;
  j["id"] = s.id;
  j["status"] = StatusName(s.status);
  j["pid"] = s.pid;
  j["pid_start_time"] = s.pid_start_time;
  j["bundle"] = s.bundle;
  j["rootfs"] = s.rootfs;
  j["created"] = s.created;
  j["owner"] = s.owner;
  j["annotations"] = s.annotations;
  j["cgroup_paths"] = s.cgroup_paths;
  j["namespaces"] = s.namespaces;
  j["start_socket"] = s.start_socket;
  j["config"] = s.config_json;
  return j;
}

absl::Status FromJson(const Json& j, ContainerState* s) {
  std::string status;
  RETURN_IF_ERROR(json::Get(j, "ociVersion", "state", &s->oci_version));
  RETURN_IF_ERROR(json::Get(j, "id", "state", &s->id));
  RETURN_IF_ERROR(json::Get(j, "status", "state", &status));
  RETURN_IF_ERROR(json::Get(j, "pid", "state", &s->pid));
  RETURN_IF_ERROR(json::Get(j, "pid_start_time", "state", &s->pid_start_time));
  RETURN_IF_ERROR(json::Get(j, "bundle", "state", &s->bundle));
  RETURN_IF_ERROR(json::Get(j, "rootfs", "state", &s->rootfs));
  RETURN_IF_ERROR(json::Get(j, "created", "state", &s->created));
  RETURN_IF_ERROR(json::Get(j, "owner", "state", &s->owner));
  RETURN_IF_ERROR(json::Get(j, "annotations", "state", &s->annotations));
  RETURN_IF_ERROR(json::Get(j, "cgroup_paths", "state", &s->cgroup_paths));
  RETURN_IF_ERROR(json::Get(j, "namespaces", "state", &s->namespaces));
  RETURN_IF_ERROR(json::Get(j, "start_socket", "state", &s->start_socket));
  RETURN_IF_ERROR(json::Get(j, "config", "state", &s->config_json));
  s->status = StatusFromName(status);
  return absl::OkStatus();
}

}  // namespace

const char* StatusName(ContainerStatus status) {
  switch (status) {
    case ContainerStatus::kCreating: return "creating";
    case ContainerStatus::kCreated: return "created";
    case ContainerStatus::kRunning: return "running";
    case ContainerStatus::kPaused: return "paused";
    case ContainerStatus::kStopped: return "stopped";
  }
  return "unknown";
}

std::string StateStore::Dir(const std::string& id) const { return JoinPath(root_, id); }

absl::Status StateStore::CreateDir(const std::string& id) {
  if (!ValidId(id)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid container id `", id, "`"));
  }
  if (mkdir(root_.c_str(), 0711) != 0 && errno != EEXIST) {
    RETURN_IF_ERROR(MkdirAll(root_, 0711));
  }
  std::string dir = Dir(id);
  if (mkdir(dir.c_str(), 0711) != 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat("container with id `", id, "` already exists"));
    }
    return ErrnoError(errno, "mkdir", dir);
  }
  return absl::OkStatus();
}

absl::Status StateStore::Save(const ContainerState& state) {
  std::string dir = Dir(state.id);
  std::string tmp = JoinPath(dir, ".state.json.tmp");
  std::string text = ToJson(state).dump();
  UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    return ErrnoError(errno, "open", tmp);
  }
  if (write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return ErrnoError(errno, "write", tmp);
  }
  RETURN_IF_ERROR(fd.Close());
  std::string path = JoinPath(dir, "state.json");
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return ErrnoError(errno, "rename", path);
  }
  return absl::OkStatus();
}

absl::StatusOr<ContainerState> StateStore::Load(const std::string& id) {
  if (!ValidId(id)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid container id `", id, "`"));
  }
  absl::StatusOr<std::string> text = ReadFile(JoinPath(Dir(id), "state.json"));
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) {
      return absl::NotFoundError(absl::StrCat("container `", id, "` does not exist"));
    }
    return text.status();
  }
  Json doc;
  RETURN_IF_ERROR(json::ParseObject(*text, "state.json", &doc));
  ContainerState state;
  RETURN_IF_ERROR(FromJson(doc, &state));
  if (state.status == ContainerStatus::kCreated && state.start_socket &&
      access(JoinPath(Dir(id), kStartSocket).c_str(), F_OK) != 0 && errno == ENOENT) {
    state.status = ContainerStatus::kRunning;
  }
  if (state.status != ContainerStatus::kStopped && state.status != ContainerStatus::kCreating &&
      !ProcessAlive(state.pid, state.pid_start_time)) {
    state.status = ContainerStatus::kStopped;
  }
  return state;
}

absl::Status StateStore::Remove(const std::string& id) { return RemoveAll(Dir(id)); }

std::vector<std::string> StateStore::List() const {
  std::vector<std::string> ids;
  DIR* dir = opendir(root_.c_str());
  if (dir == nullptr) return ids;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.' && e->d_type == DT_DIR) ids.emplace_back(e->d_name);
  }
  closedir(dir);
  return ids;
}

std::string OciStateJson(const ContainerState& s, bool pretty) {
  nlohmann::ordered_json j;  // runc's field order.
  j["ociVersion"] = s.oci_version;
  j["id"] = s.id;
  j["pid"] = s.status == ContainerStatus::kStopped ? 0 : s.pid;
  j["status"] = StatusName(s.status);
  j["bundle"] = s.bundle;
  j["rootfs"] = s.rootfs;
  j["created"] = s.created;
  j["owner"] = s.owner;
  if (!s.annotations.empty()) {
    j["annotations"] = s.annotations;
  }
  return pretty ? j.dump(2) : j.dump();
}

std::vector<std::string> ProcStatFields(const std::string& pid) {
  absl::StatusOr<std::string> stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat.ok()) return {};
  // Field 2 (comm) may hold spaces: count fields after the last ')'.
  size_t paren = stat->rfind(')');
  if (paren == std::string::npos || paren + 2 > stat->size()) return {};
  return absl::StrSplit(absl::string_view(*stat).substr(paren + 2), ' ');
}

uint64_t ProcessStartTime(pid_t pid) {
  if (pid <= 0) return 0;
  std::vector<std::string> f = ProcStatFields(absl::StrCat(pid));
  // f[0] is field 3 (state); starttime is field 22.
  if (f.size() < 20 || f[0] == "Z" || f[0] == "X") return 0;
  uint64_t start = 0;
  return absl::SimpleAtoi(f[19], &start) ? start : 0;
}

bool ProcessAlive(pid_t pid, uint64_t start_time) {
  uint64_t now = ProcessStartTime(pid);
  return now != 0 && (start_time == 0 || now == start_time);
}

}  // namespace berth::oci
