#include "runtime/v2/bundle.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "plugins/base/file_util.h"
#include "plugins/base/identifiers.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/base/unique_fd.h"

namespace berth::runtime_v2 {

Bundle Bundle::Load(const std::string& state_dir, const std::string& root_dir,
                    const std::string& ns, const std::string& id) {
  return Bundle(ns, id, absl::StrCat(state_dir, "/", ns, "/", id),
                absl::StrCat(root_dir, "/", ns, "/", id));
}

absl::StatusOr<Bundle> Bundle::Create(const std::string& state_dir, const std::string& root_dir,
                                      const std::string& ns, const std::string& id,
                                      absl::string_view spec_json) {
  RETURN_IF_ERROR(ValidateIdentifier(id));
  Bundle bundle = Load(state_dir, root_dir, ns, id);
  RETURN_IF_ERROR(MkdirAll(absl::StrCat(state_dir, "/", ns), 0711));
  RETURN_IF_ERROR(MkdirAll(absl::StrCat(root_dir, "/", ns), 0711));
  if (mkdir(bundle.path_.c_str(), 0700) != 0) {
    if (errno == EEXIST) return AlreadyExists(absl::StrCat("bundle ", bundle.path_));
    return ErrnoError(errno, "create bundle", bundle.path_);
  }
  absl::Status status = [&]() -> absl::Status {
    if (mkdir(bundle.File("rootfs").c_str(), 0711) != 0) {
      return ErrnoError(errno, "mkdir", bundle.File("rootfs"));
    }
    (void)RemoveAll(bundle.work_dir_);  // a leftover of a bundle that died with the host
    if (mkdir(bundle.work_dir_.c_str(), 0711) != 0) {
      return ErrnoError(errno, "mkdir", bundle.work_dir_);
    }
    if (symlink(bundle.work_dir_.c_str(), bundle.File("work").c_str()) != 0) {
      return ErrnoError(errno, "symlink", bundle.File("work"));
    }
    return bundle.WriteFile("config.json", spec_json);
  }();
  if (!status.ok()) {
    (void)bundle.Delete();
    return status;
  }
  return bundle;
}

std::string Bundle::File(absl::string_view name) const { return absl::StrCat(path_, "/", name); }

absl::Status Bundle::WriteFile(absl::string_view name, absl::string_view data) const {
  return WriteFileReplace(File(name), data, 0600);
}

absl::Status Bundle::Delete() const {
  std::string rootfs = File("rootfs");
  // The shim unmounts the rootfs; a shim that died may not have.
  while (umount2(rootfs.c_str(), MNT_DETACH) == 0) {
  }
  RETURN_IF_ERROR(Annotate(RemoveAll(work_dir_), "delete bundle work dir"));
  return Annotate(RemoveAll(path_), "delete bundle");
}

std::vector<std::string> ListDirs(const std::string& path) {
  std::vector<std::string> out;
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return out;
  while (struct dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (entry->d_type == DT_DIR || entry->d_type == DT_UNKNOWN) out.push_back(name);
  }
  closedir(dir);
  return out;
}

}  // namespace berth::runtime_v2
