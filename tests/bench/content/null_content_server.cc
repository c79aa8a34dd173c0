// null_content_server: a Content service whose Write keeps nothing, for the ingest benchmark.
// It answers containerd's STAT / WRITE / COMMIT protocol as a store would (offsets, and on
// COMMIT the expected digest) but neither hashes nor stores the bytes, so `ctr content ingest`
// against it measures what ctr and gRPC's transport alone cost: the ceiling of any server
// behind that client on this machine.
//
//   null_content_server SOCKET     serves until SIGTERM/SIGINT

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "containerd/services/content/v1/content.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace {

namespace api = containerd::services::content::v1;

class NullContent final : public api::Content::Service {
  grpc::Status Write(grpc::ServerContext*,
                     grpc::ServerReaderWriter<api::WriteContentResponse,
                                              api::WriteContentRequest>* stream) override {
    api::WriteContentRequest request;
    int64_t offset = 0;
    while (stream->Read(&request)) {
      api::WriteContentResponse response;
      response.set_action(request.action());
      if (request.offset() == 0) offset = 0;
      offset += static_cast<int64_t>(request.data().size());
      response.set_offset(offset);
      response.set_total(request.total());
      if (request.action() == api::COMMIT) response.set_digest(request.expected());
      if (!stream->Write(response) || request.action() == api::COMMIT) break;
    }
    return grpc::Status::OK;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
    return 2;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  NullContent service;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(std::string("unix:") + argv[1], grpc::InsecureServerCredentials());
  builder.SetMaxReceiveMessageSize(16 << 20);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) return 1;
  int signal = 0;
  sigwait(&stop, &signal);
  server->Shutdown();
  return 0;
}
