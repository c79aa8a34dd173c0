#pragma once

// What a gRPC service plugin (type io.containerd.grpc.v1) gives the server: the service to
// register. The server collects every loaded instance of this type and serves them all on the
// daemon's socket.

#include "grpcpp/impl/codegen/service_type.h"

namespace berth::services {

class GrpcService {
 public:
  virtual ~GrpcService() = default;
  virtual grpc::Service* service() = 0;
  // Called once before the server stops accepting calls, so long-running streams can end.
  virtual void BeginShutdown() {}
};

}  // namespace berth::services
