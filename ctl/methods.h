#pragma once

// Every daemon method berthctl calls, with its request and response types, for
// ctl/rpc/call.h. One list (BERTH_CTL_METHODS) declares the constants here and lets
// tests/ctl/methods_test.cc check each path and type against the proto descriptors, so a typo
// fails a unit test rather than a command.

#include "berth/services/images/v1/archive.pb.h"
#include "berth/services/pull/v1/transfer.pb.h"
#include "containerd/services/containers/v1/containers.pb.h"
#include "containerd/services/content/v1/content.pb.h"
#include "containerd/services/images/v1/images.pb.h"
#include "containerd/services/introspection/v1/introspection.pb.h"
#include "containerd/services/namespaces/v1/namespaces.pb.h"
#include "containerd/services/snapshots/v1/snapshots.pb.h"
#include "containerd/services/tasks/v1/tasks.pb.h"
#include "containerd/services/version/v1/version.pb.h"
#include "ctl/rpc/call.h"
#include "google/protobuf/empty.pb.h"

// X(constant, "package.Service/Method", request type, response type)
#define BERTH_CTL_METHODS(X)                                                                \
  X(kVersion, "containerd.services.version.v1.Version/Version", google::protobuf::Empty,    \
    containerd::services::version::v1::VersionResponse)                                    \
  X(kIntrospectionPlugins, "containerd.services.introspection.v1.Introspection/Plugins",    \
    containerd::services::introspection::v1::PluginsRequest,                               \
    containerd::services::introspection::v1::PluginsResponse)                              \
  X(kIntrospectionServer, "containerd.services.introspection.v1.Introspection/Server",      \
    google::protobuf::Empty, containerd::services::introspection::v1::ServerResponse)      \
  X(kNamespacesList, "containerd.services.namespaces.v1.Namespaces/List",                   \
    containerd::services::namespaces::v1::ListNamespacesRequest,                           \
    containerd::services::namespaces::v1::ListNamespacesResponse)                          \
  X(kNamespacesCreate, "containerd.services.namespaces.v1.Namespaces/Create",               \
    containerd::services::namespaces::v1::CreateNamespaceRequest,                          \
    containerd::services::namespaces::v1::CreateNamespaceResponse)                         \
  X(kNamespacesUpdate, "containerd.services.namespaces.v1.Namespaces/Update",               \
    containerd::services::namespaces::v1::UpdateNamespaceRequest,                          \
    containerd::services::namespaces::v1::UpdateNamespaceResponse)                         \
  X(kNamespacesDelete, "containerd.services.namespaces.v1.Namespaces/Delete",               \
    containerd::services::namespaces::v1::DeleteNamespaceRequest, google::protobuf::Empty) \
  X(kContainersGet, "containerd.services.containers.v1.Containers/Get",                     \
    containerd::services::containers::v1::GetContainerRequest,                             \
    containerd::services::containers::v1::GetContainerResponse)                            \
  X(kContainersList, "containerd.services.containers.v1.Containers/List",                   \
    containerd::services::containers::v1::ListContainersRequest,                           \
    containerd::services::containers::v1::ListContainersResponse)                          \
  X(kContainersCreate, "containerd.services.containers.v1.Containers/Create",               \
    containerd::services::containers::v1::CreateContainerRequest,                          \
    containerd::services::containers::v1::CreateContainerResponse)                         \
  X(kContainersUpdate, "containerd.services.containers.v1.Containers/Update",               \
    containerd::services::containers::v1::UpdateContainerRequest,                          \
    containerd::services::containers::v1::UpdateContainerResponse)                         \
  X(kContainersDelete, "containerd.services.containers.v1.Containers/Delete",               \
    containerd::services::containers::v1::DeleteContainerRequest, google::protobuf::Empty) \
  X(kTasksCreate, "containerd.services.tasks.v1.Tasks/Create",                              \
    containerd::services::tasks::v1::CreateTaskRequest,                                    \
    containerd::services::tasks::v1::CreateTaskResponse)                                   \
  X(kTasksStart, "containerd.services.tasks.v1.Tasks/Start",                                \
    containerd::services::tasks::v1::StartRequest, containerd::services::tasks::v1::StartResponse) \
  X(kTasksDelete, "containerd.services.tasks.v1.Tasks/Delete",                              \
    containerd::services::tasks::v1::DeleteTaskRequest,                                    \
    containerd::services::tasks::v1::DeleteResponse)                                       \
  X(kTasksDeleteProcess, "containerd.services.tasks.v1.Tasks/DeleteProcess",                \
    containerd::services::tasks::v1::DeleteProcessRequest,                                 \
    containerd::services::tasks::v1::DeleteResponse)                                       \
  X(kTasksGet, "containerd.services.tasks.v1.Tasks/Get",                                    \
    containerd::services::tasks::v1::GetRequest, containerd::services::tasks::v1::GetResponse) \
  X(kTasksList, "containerd.services.tasks.v1.Tasks/List",                                  \
    containerd::services::tasks::v1::ListTasksRequest,                                     \
    containerd::services::tasks::v1::ListTasksResponse)                                    \
  X(kTasksKill, "containerd.services.tasks.v1.Tasks/Kill",                                  \
    containerd::services::tasks::v1::KillRequest, google::protobuf::Empty)                 \
  X(kTasksExec, "containerd.services.tasks.v1.Tasks/Exec",                                  \
    containerd::services::tasks::v1::ExecProcessRequest, google::protobuf::Empty)          \
  X(kTasksResizePty, "containerd.services.tasks.v1.Tasks/ResizePty",                        \
    containerd::services::tasks::v1::ResizePtyRequest, google::protobuf::Empty)            \
  X(kTasksCloseIO, "containerd.services.tasks.v1.Tasks/CloseIO",                            \
    containerd::services::tasks::v1::CloseIORequest, google::protobuf::Empty)              \
  X(kTasksListPids, "containerd.services.tasks.v1.Tasks/ListPids",                          \
    containerd::services::tasks::v1::ListPidsRequest,                                      \
    containerd::services::tasks::v1::ListPidsResponse)                                     \
  X(kTasksMetrics, "containerd.services.tasks.v1.Tasks/Metrics",                            \
    containerd::services::tasks::v1::MetricsRequest,                                       \
    containerd::services::tasks::v1::MetricsResponse)                                      \
  X(kTasksWait, "containerd.services.tasks.v1.Tasks/Wait",                                  \
    containerd::services::tasks::v1::WaitRequest, containerd::services::tasks::v1::WaitResponse) \
  X(kSnapshotsPrepare, "containerd.services.snapshots.v1.Snapshots/Prepare",                \
    containerd::services::snapshots::v1::PrepareSnapshotRequest,                           \
    containerd::services::snapshots::v1::PrepareSnapshotResponse)                          \
  X(kSnapshotsMounts, "containerd.services.snapshots.v1.Snapshots/Mounts",                  \
    containerd::services::snapshots::v1::MountsRequest,                                    \
    containerd::services::snapshots::v1::MountsResponse)                                   \
  X(kSnapshotsRemove, "containerd.services.snapshots.v1.Snapshots/Remove",                  \
    containerd::services::snapshots::v1::RemoveSnapshotRequest, google::protobuf::Empty)   \
  X(kImagesGet, "containerd.services.images.v1.Images/Get",                                 \
    containerd::services::images::v1::GetImageRequest,                                     \
    containerd::services::images::v1::GetImageResponse)                                    \
  X(kImagesList, "containerd.services.images.v1.Images/List",                               \
    containerd::services::images::v1::ListImagesRequest,                                   \
    containerd::services::images::v1::ListImagesResponse)                                  \
  X(kImagesCreate, "containerd.services.images.v1.Images/Create",                           \
    containerd::services::images::v1::CreateImageRequest,                                  \
    containerd::services::images::v1::CreateImageResponse)                                 \
  X(kImagesUpdate, "containerd.services.images.v1.Images/Update",                           \
    containerd::services::images::v1::UpdateImageRequest,                                  \
    containerd::services::images::v1::UpdateImageResponse)                                 \
  X(kImagesDelete, "containerd.services.images.v1.Images/Delete",                           \
    containerd::services::images::v1::DeleteImageRequest, google::protobuf::Empty)         \
  X(kContentRead, "containerd.services.content.v1.Content/Read",                            \
    containerd::services::content::v1::ReadContentRequest,                                \
    containerd::services::content::v1::ReadContentResponse)                                \
  X(kContentWrite, "containerd.services.content.v1.Content/Write",                          \
    containerd::services::content::v1::WriteContentRequest,                                \
    containerd::services::content::v1::WriteContentResponse)                               \
  X(kArchiveImport, "berth.services.images.v1.Archive/Import",                              \
    berth::services::images::v1::ImportRequest, berth::services::images::v1::ImportResponse) \
  X(kArchiveExport, "berth.services.images.v1.Archive/Export",                              \
    berth::services::images::v1::ExportRequest, berth::services::images::v1::ExportResponse) \
  X(kArchiveUnpack, "berth.services.images.v1.Archive/Unpack",                              \
    berth::services::images::v1::UnpackRequest, berth::services::images::v1::UnpackResponse) \
  X(kTransferPull, "berth.services.pull.v1.Transfer/Pull", berth::services::pull::v1::PullRequest, \
    berth::services::pull::v1::Progress)                                                   \
  X(kTransferPush, "berth.services.pull.v1.Transfer/Push", berth::services::pull::v1::PushRequest, \
    berth::services::pull::v1::Progress)                                                   \
  X(kTransferLogin, "berth.services.pull.v1.Transfer/Login",                                \
    berth::services::pull::v1::LoginRequest, berth::services::pull::v1::LoginResponse)

namespace berth::ctl::methods {

#define BERTH_CTL_DECLARE_METHOD(name, path, request, response) \
  inline constexpr rpc::Method<request, response> name{"/" path};
BERTH_CTL_METHODS(BERTH_CTL_DECLARE_METHOD)
#undef BERTH_CTL_DECLARE_METHOD

}  // namespace berth::ctl::methods
