#pragma once

// The shim v2 bundle (containerd's runtime/v2/bundle.go):
//
//   <state>/<ns>/<id>/            0700, the shim's cwd
//     config.json                 the container spec Any's value bytes, verbatim
//     rootfs/                     0711, the shim mounts the rootfs here
//     work -> <root>/<ns>/<id>    the persistent work dir
//     log                         FIFO, the shim writes its log into it (opened by the daemon)
//     shim-binary-path            written by the daemon after `start`, used on restore
//     address, init.pid, ...      written by the shim
//
// <state> and <root> are the runtime plugin's dirs (.../io.containerd.runtime.v2.task).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::runtime_v2 {

class Bundle {
 public:
  // Creates the directories and config.json. AlreadyExists if the bundle exists.
  static absl::StatusOr<Bundle> Create(const std::string& state_dir, const std::string& root_dir,
                                       const std::string& ns, const std::string& id,
                                       absl::string_view spec_json);
  // An existing bundle (restore).
  static Bundle Load(const std::string& state_dir, const std::string& root_dir,
                     const std::string& ns, const std::string& id);

  const std::string& ns() const { return ns_; }
  const std::string& id() const { return id_; }
  const std::string& path() const { return path_; }
  const std::string& work_dir() const { return work_dir_; }
  std::string File(absl::string_view name) const;
  // Writes a bundle file (mode 0600) so that readers see the old file or all of the new one.
  // Not fsynced: the bundle is volatile state (tmpfs in containerd's layout) whose shims die
  // with the host anyway, and each fsync cost ~8 ms of every Tasks.Create here.
  absl::Status WriteFile(absl::string_view name, absl::string_view data) const;

  // Removes the work dir and the bundle dir. Fails if the rootfs is still mounted (it is
  // unmounted first with MNT_DETACH, as the shim should have done).
  absl::Status Delete() const;

 private:
  Bundle(std::string ns, std::string id, std::string path, std::string work_dir)
      : ns_(std::move(ns)), id_(std::move(id)), path_(std::move(path)),
        work_dir_(std::move(work_dir)) {}

  std::string ns_, id_, path_, work_dir_;
};

// The names of the directories in `path` (namespaces, then bundles: <state>/<ns>/<id>),
// "." and ".." left out; empty if it cannot be read.
std::vector<std::string> ListDirs(const std::string& path);

}  // namespace berth::runtime_v2
