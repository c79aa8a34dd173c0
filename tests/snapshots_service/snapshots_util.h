#pragma once

// Helpers for the snapshots/diff service tests: typed calls with the namespace header, and
// writing a blob through containerd's Content.Write protocol.

#include <memory>
#include <string>

#include "containerd/services/content/v1/content.grpc.pb.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "tests/testutil/grpc_client.h"

namespace berth::testutil {

namespace snapshots_api = containerd::services::snapshots::v1;
namespace content_api = containerd::services::content::v1;

// Writes `data` as a blob with digest `digest` into namespace `ns` (ref "test-<digest>"),
// labelled containerd.io/gc.root: an unreferenced blob is the collector's to take (the start-up
// collection runs 100 ms after the daemon starts), and the tests apply it afterwards.
inline grpc::Status WriteBlob(const std::shared_ptr<grpc::Channel>& channel, const std::string& ns,
                              const std::string& data, const std::string& digest) {
  auto stub = content_api::Content::NewStub(channel);
  auto context = NamespacedContext(ns);
  auto stream = stub->Write(context.get());
  content_api::WriteContentRequest request;
  request.set_action(content_api::WRITE);
  request.set_ref("test-" + digest);
  request.set_total(static_cast<int64_t>(data.size()));
  request.set_expected(digest);
  content_api::WriteContentResponse response;
  for (size_t offset = 0; offset < data.size(); offset += 1 << 20) {
    request.set_offset(static_cast<int64_t>(offset));
    request.set_data(data.substr(offset, 1 << 20));
    if (!stream->Write(request) || !stream->Read(&response)) return stream->Finish();
  }
  request.Clear();
  request.set_action(content_api::COMMIT);
  request.set_ref("test-" + digest);
  request.set_total(static_cast<int64_t>(data.size()));
  request.set_offset(static_cast<int64_t>(data.size()));
  request.set_expected(digest);
  (*request.mutable_labels())["containerd.io/gc.root"] = "2026-01-01T00:00:00Z";
  if (!stream->Write(request)) return stream->Finish();
  stream->Read(&response);
  stream->WritesDone();
  return stream->Finish();
}

}  // namespace berth::testutil
