#pragma once

// Builds the two descriptor sets the wire-compatibility test compares, with protoc:
//   - containerd 1.6's API .proto files from Debian's golang-github-containerd-containerd-dev,
//     copied with gogo stripped, and
//   - Berth's own proto/ tree (everything except Berth's own services under proto/berth/).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.pb.h"

namespace berth::proto_test {

// Where Debian installs containerd 1.6's Go sources, and the import prefix the files use.
inline constexpr char kContainerdSourceDir[] =
    "/usr/share/gocode/src/github.com/containerd/containerd";
inline constexpr char kContainerdImportPrefix[] = "github.com/containerd/containerd";
// google/rpc/status.proto as containerd 1.6 uses it (golang-github-gogo-googleapis-dev).
inline constexpr char kGoogleRpcStatusProto[] =
    "/usr/share/gocode/src/github.com/gogo/googleapis/google/rpc/status.proto";

// containerd 1.6's .proto files that Berth mirrors, relative to kContainerdSourceDir.
const std::vector<std::string>& ContainerdProtoFiles();

// Berth's .proto files to compare, relative to `proto_dir`, sorted.
absl::StatusOr<std::vector<std::string>> BerthProtoFiles(const std::string& proto_dir);

// Copies containerd's files (gogo stripped) under `work_dir` and compiles them.
absl::StatusOr<google::protobuf::FileDescriptorSet> BuildContainerdDescriptorSet(
    const std::string& protoc, const std::string& wkt_dir, const std::string& work_dir);

// Compiles Berth's files in `proto_dir`; protoc's output and log go to `work_dir`.
absl::StatusOr<google::protobuf::FileDescriptorSet> BuildBerthDescriptorSet(
    const std::string& protoc, const std::string& wkt_dir, const std::string& proto_dir,
    const std::string& work_dir);

}  // namespace berth::proto_test
