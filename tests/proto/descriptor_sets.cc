#include "tests/proto/descriptor_sets.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "plugins/base/file_util.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "tests/proto/gogo_strip.h"

namespace berth::proto_test {
namespace {

using google::protobuf::FileDescriptorSet;

// Runs `argv` (argv[0] is a path) with stdout and stderr going to `log_path`.
absl::Status RunTool(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return ErrnoError(errno, "fork");
  if (pid == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return ErrnoError(errno, "waitpid", argv[0]);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  absl::StatusOr<std::string> log = ReadFile(log_path);
  return absl::InternalError(absl::StrCat(absl::StrJoin(argv, " "), " failed (wait status ", status,
                                          "):\n", log.ok() ? *log : ""));
}

// protoc --include_imports --descriptor_set_out over `files` (relative to `root`).
absl::StatusOr<FileDescriptorSet> CompileDescriptorSet(const std::string& protoc,
                                                       const std::string& wkt_dir,
                                                       const std::string& root,
                                                       const std::vector<std::string>& files,
                                                       const std::string& out_base) {
  const std::string out = out_base + ".pb";
  std::vector<std::string> argv = {protoc, "-I" + root, "-I" + wkt_dir, "--include_imports",
                                   "--descriptor_set_out=" + out};
  argv.insert(argv.end(), files.begin(), files.end());
  RETURN_IF_ERROR(RunTool(argv, out_base + ".log"));
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(out));
  FileDescriptorSet set;
  if (!set.ParseFromString(bytes)) return absl::DataLossError("cannot parse " + out);
  return set;
}

// Writes `text` to `root`/`relative`, creating directories.
absl::Status WriteUnder(const std::string& root, const std::string& relative,
                        const std::string& text) {
  const std::string path = JoinPath(root, relative);
  RETURN_IF_ERROR(MkdirAll(std::filesystem::path(path).parent_path().string()));
  return WriteFileAtomic(path, text);
}

}  // namespace

const std::vector<std::string>& ContainerdProtoFiles() {
  static const auto* files = new std::vector<std::string>{
      "api/types/descriptor.proto",
      "api/types/metrics.proto",
      "api/types/mount.proto",
      "api/types/platform.proto",
      "api/types/task/task.proto",
      "api/events/container.proto",
      "api/events/content.proto",
      "api/events/image.proto",
      "api/events/namespace.proto",
      "api/events/snapshot.proto",
      "api/events/task.proto",
      "api/services/containers/v1/containers.proto",
      "api/services/content/v1/content.proto",
      "api/services/diff/v1/diff.proto",
      "api/services/events/v1/events.proto",
      "api/services/images/v1/images.proto",
      "api/services/introspection/v1/introspection.proto",
      "api/services/leases/v1/leases.proto",
      "api/services/namespaces/v1/namespace.proto",
      "api/services/snapshots/v1/snapshots.proto",
      "api/services/tasks/v1/tasks.proto",
      "api/services/version/v1/version.proto",
      "api/services/ttrpc/events/v1/events.proto",
      "runtime/v2/task/shim.proto",
      "runtime/v2/runc/options/oci.proto",
  };
  return *files;
}

absl::StatusOr<std::vector<std::string>> BerthProtoFiles(const std::string& proto_dir) {
  std::vector<std::string> files;
  std::error_code error;
  for (const char* top : {"containerd", "google"}) {
    std::filesystem::recursive_directory_iterator it(JoinPath(proto_dir, top), error), end;
    for (; !error && it != end; it.increment(error)) {
      if (it->is_regular_file() && it->path().extension() == ".proto") {
        files.push_back(std::filesystem::relative(it->path(), proto_dir).string());
      }
    }
    if (error) return absl::InternalError(absl::StrCat("list ", proto_dir, ": ", error.message()));
  }
  std::sort(files.begin(), files.end());
  return files;
}

absl::StatusOr<FileDescriptorSet> BuildContainerdDescriptorSet(const std::string& protoc,
                                                               const std::string& wkt_dir,
                                                               const std::string& work_dir) {
  const std::string root = JoinPath(work_dir, "containerd-src");
  std::vector<std::string> inputs;
  for (const std::string& file : ContainerdProtoFiles()) {
    ASSIGN_OR_RETURN(std::string text, ReadFile(JoinPath(kContainerdSourceDir, file)));
    const std::string import_path = JoinPath(kContainerdImportPrefix, file);
    RETURN_IF_ERROR(WriteUnder(root, import_path, StripGoGo(text)));
    inputs.push_back(import_path);
  }
  ASSIGN_OR_RETURN(std::string status_proto, ReadFile(kGoogleRpcStatusProto));
  RETURN_IF_ERROR(WriteUnder(root, "google/rpc/status.proto", status_proto));
  return CompileDescriptorSet(protoc, wkt_dir, root, inputs, JoinPath(work_dir, "containerd"));
}

absl::StatusOr<FileDescriptorSet> BuildBerthDescriptorSet(const std::string& protoc,
                                                          const std::string& wkt_dir,
                                                          const std::string& proto_dir,
                                                          const std::string& work_dir) {
  ASSIGN_OR_RETURN(std::vector<std::string> files, BerthProtoFiles(proto_dir));
  return CompileDescriptorSet(protoc, wkt_dir, proto_dir, files, JoinPath(work_dir, "berth"));
}

}  // namespace berth::proto_test
